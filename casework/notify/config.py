"""Where the relay sends: SMTP server, the casework API's public address for links, attempts
and backoff. From the environment (a deployment: casework.settings declares the variables) or
given (`casework up`, tests)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ConfigDict, ValidationError

from casework.notify.contracts import LANES as LANES
from casework.settings import RelayFields, SettingsRefused, environment


class RelayConfigError(ValueError):
    """The relay's configuration is wrong: the message names the variable and the fix."""


class RelayConfig(RelayFields):
    """The relay's variables (casework.settings.RelayFields: their bounds and what they
    mean), from the environment or given by field name."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True
    )

    @staticmethod
    def lanes() -> tuple[str, ...]:
        return LANES

    def concurrency(self, lane: str) -> int:
        return int(getattr(self, f"{lane}_concurrency"))

    def timeout(self, lane: str) -> float:
        """One send's limit on `lane` (its own, else `timeout_seconds`)."""
        own = getattr(self, f"{lane}_timeout_seconds")
        return float(own if own is not None else self.timeout_seconds)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **given: object) -> RelayConfig:
        """`given` (by field name) wins over the environment (casework.settings)."""
        try:
            values = environment(env).relay_values()
        except SettingsRefused as e:
            raise RelayConfigError(str(e)) from None
        values.update({k: v for k, v in given.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as e:
            problems = []
            for error in e.errors():
                field = str(error["loc"][0]) if error["loc"] else "?"
                problems.append(f"{variable_of(field)}: {error['msg']}")
            raise RelayConfigError(
                "the notification relay's configuration is wrong: " + "; ".join(problems)
            ) from None

    def backoff(self, failed_attempts: int) -> float:
        """Seconds to wait after the `failed_attempts`-th failure in a row."""
        return min(self.backoff_max_seconds, self.backoff_seconds * 2 ** (failed_attempts - 1))


def variable_of(field: str) -> str:
    """The variable a relay field is read from (`smtp_port` -> CASEWORK_SMTP_PORT)."""
    known = RelayFields.model_fields.get(field)
    return str(known.validation_alias) if known is not None else field


JOINED = "relay.json"
"""Under the state folder: where `casework up` says how its relay sends (its sink's port), so
that a worker joining it (`casework worker --join`) sends the same way."""
SHARED_FIELDS = ("smtp_host", "smtp_port", "smtp_tls", "mail_from", "public_url")


def save_for_joiners(state_dir: Path, config: RelayConfig) -> None:
    """No secrets: a joiner takes SMTP credentials from its own environment."""
    path = state_dir / JOINED
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(config.model_dump(include=set(SHARED_FIELDS)), f)


def for_joiner(state_dir: Path) -> RelayConfig:
    """A joining worker's relay: the engine's (its sink), unless CASEWORK_SMTP_HOST says."""
    path = state_dir / JOINED
    if environment().is_set("smtp_host") or not path.exists():
        return RelayConfig.from_env()
    try:
        shared = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise RelayConfigError(f"{path} cannot be read ({e}): restart `casework up`") from None
    return RelayConfig.from_env(**{k: shared.get(k) for k in SHARED_FIELDS})
