"""The vocabulary every model of a case is written in: the base models (inputs strict, carried
state lenient), the closed sets (priority, channel, category, level, actor), a tier's name and
a case's number. Pure; `casework.domain.models` re-exports all of it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

TIER_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")
"""A tier's name: capitals, digits and _, starting with a letter, up to 16 characters (the
database keeps 16)."""


def tier_name_refusal(name: str) -> str | None:
    """Why `name` cannot name a tier, or None."""
    if TIER_NAME.match(name):
        return None
    return (
        f"{name!r} is not a tier's name: write it in capitals, digits and _, starting with a "
        "letter, up to 16 characters (GOLD, PLATINUM, SILVER)"
    )


def _tier_name(name: str) -> str:
    refusal = tier_name_refusal(name)
    if refusal:
        raise ValueError(refusal)
    return name


Tier = Annotated[str, AfterValidator(_tier_name)]
"""A1: an account's support tier, by its name; which tiers are sold, to whom, with what, is
the SLA policy's (casework.domain.tiers). Carried state holds it as the string it always was
("GOLD", "PLATINUM"), so old cases decode and replay."""


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class Channel(StrEnum):
    """A2: cases come by phone or by web (Case Center)."""

    PHONE = "phone"
    WEB = "web"
    PARTNER = "partner"
    """P3: a Support Now partner opens a case for its PAR customer (needs `partner_id`)."""


class Category(StrEnum):
    """A5: a case is a support issue or a security vulnerability issue."""

    SUPPORT = "support"
    SECURITY_VULNERABILITY = "security_vulnerability"


class Level(StrEnum):
    """E1: L0 Customer Care, L1-L2 Global Support Center, L3 Global Escalation Center."""

    L0 = "L0"
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"

    def next(self) -> Level | None:
        order = list(Level)
        i = order.index(self)
        return order[i + 1] if i + 1 < len(order) else None


class ActorRole(StrEnum):
    CONTACT = "contact"
    ENGINEER = "engineer"
    SYSTEM = "system"
    UNKNOWN = "unknown"
    ESCALATION_MANAGER = "escalation_manager"
    PARTNER_ENGINEER = "partner_engineer"
    """P4: on a vendor escalation, an engineer of the partner it is for (our customer there)."""


class Strict(BaseModel):
    """Inputs refuse unknown fields: a typo in a hand-typed payload is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Lenient(BaseModel):
    """Outputs and carried state ignore unknown fields: a newer writer never breaks a reader."""

    model_config = ConfigDict(extra="ignore")


CASE_ID_PATTERN = re.compile(r"^case-\d{6,}(-esc-\d+)?$")
"""A case number; `-esc-<n>` is a partner case's vendor escalation (P4)."""


def case_id_for(number: int) -> str:
    return f"case-{number:06d}"


def refused_at(model: str, loc: tuple[str | int, ...], reason: str, given: Any) -> ValidationError:
    """A refusal of `model` at `loc` (from a validator of the whole model), so that a refused
    file names the line of that field (casework.yamlfiles), not the file's top."""
    return ValidationError.from_exception_data(
        model,
        [
            {
                "type": PydanticCustomError("refused", "{reason}", {"reason": reason}),
                "loc": loc,
                "input": given,
            }
        ],
    )
