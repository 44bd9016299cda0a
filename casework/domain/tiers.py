"""Tiers as data (A1, A3, S1, S5): which support tiers a deployment sells, to which accounts,
and which offerings beyond the Global Support Center each tier may buy. Pure.

A tier is sold when the SLA policy gives it first-response targets (S1); nothing in the code
names a tier but the defaults below. Its terms (`TierTerms`, the policy's `tiers:`) say the
fewest users it is sold to (A1) and the premium offerings it may buy (A3). A policy that
states no terms for PLATINUM gives it the service description's: sold to accounts of 250 or
more users, with every premium offering (so a policy file written before tiers were data
means what it meant); any other tier without terms is sold to any account and buys none.

So a new tier (say SILVER) is one entry of the policy (its targets, and its terms if it has
any) and its accounts in the directory. An account of a tier the policy does not sell is
refused when its directory is loaded against the policy (the account's line), and its cases
are refused at intake (`TierRules.not_sold`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import Field, ValidationInfo

from casework.domain.models import Strict

GOLD, PLATINUM = "GOLD", "PLATINUM"
"""The tiers the service description sells (A1, S1): the default policy's."""
MAX_TIERS = 20
"""Bound on the tiers one policy sells."""

Offering = Literal["us_citizen_support", "csm_lite", "csm", "resident_engineer"]
PREMIUM_OFFERINGS: dict[str, str] = {
    "us_citizen_support": "US Citizen Support",
    "csm_lite": "CSM-Lite",
    "csm": "CSM",
    "resident_engineer": "Resident Engineer",
}
"""A3: the offerings beyond the Global Support Center, as the policy names them, and as
people read them."""


class TierTerms(Strict):
    """What a tier is sold to (A1) and may buy (A3)."""

    min_users: int = Field(
        default=1, ge=1, le=10_000_000, description="A1: the fewest users an account of it has"
    )
    premium_offerings: list[Offering] = Field(
        default_factory=list,
        max_length=len(PREMIUM_OFFERINGS),
        description="A3: the premium offerings an account of this tier may buy: "
        + ", ".join(PREMIUM_OFFERINGS),
    )


PLATINUM_TERMS = TierTerms(min_users=250, premium_offerings=list(get_args(Offering)))
"""A1: Platinum is sold to accounts of 250 or more users; A3: US Citizen Support, CSM-Lite,
CSM and Resident Engineer are Platinum offerings."""
UNSTATED_TERMS: dict[str, TierTerms] = {PLATINUM: PLATINUM_TERMS}
"""The terms of a tier the policy sells without stating its terms; any other: `TierTerms()`."""


def tier_title(tier: str) -> str:
    """How a sentence names a tier: PLATINUM is Platinum."""
    return tier.replace("_", " ").title()


def _either(tiers: list[str]) -> str:
    return " or ".join(tier_title(t) for t in tiers)


@dataclass(frozen=True)
class TierRules:
    """What a policy sells: each sold tier, in the policy's order, with its terms."""

    terms: Mapping[str, TierTerms]

    def sells(self, tier: str) -> bool:
        return tier in self.terms

    def not_sold(self, account_id: str, tier: str) -> str:
        """The sentence for an account whose tier is not sold, for the operator."""
        return (
            f"account {account_id} is on the {tier} tier, which the SLA policy does not sell "
            f"(it sells {', '.join(self.terms)}): put the account on a tier the policy sells "
            f"in the directory, or give {tier} first-response targets in the policy (S5)"
        )

    def too_few_users(self, account_id: str, tier: str, users: int) -> str | None:
        """A1: why an account of `users` users may not be on `tier`, or None."""
        least = self.terms[tier].min_users
        if users >= least:
            return None
        others = [t for t, terms in self.terms.items() if t != tier and users >= terms.min_users]
        fix = f"make it {' or '.join(others)} or correct the count" if others else "correct it"
        return (
            f"account {account_id} has {users} users; {tier_title(tier)} is sold to accounts of "
            f"{least} or more users (A1): {fix}"
        )

    def may_not_buy(self, account_id: str, tier: str, offering: Offering) -> str | None:
        """A3: why an account on `tier` may not buy `offering`, or None."""
        if offering in self.terms[tier].premium_offerings:
            return None
        name = PREMIUM_OFFERINGS[offering]
        offered = [t for t, terms in self.terms.items() if offering in terms.premium_offerings]
        if not offered:
            return (
                f"account {account_id} is {tier}: {name} is not sold under this policy, no tier "
                "lists it among its premium_offerings (A3)"
            )
        a = "an" if _either(offered)[0] in "AEIOU" else "a"
        return (
            f"account {account_id} is {tier}: {name} is {a} {_either(offered)} offering, "
            f"upgrade to {_either(offered)} first (A3)"
        )


S1_RULES = TierRules({GOLD: TierTerms(), PLATINUM: PLATINUM_TERMS})
"""What the default policy sells (S1, A1, A3): Gold, and Platinum on its terms."""
LOADED: dict[str, Any] = {"tiers": None}
"""Validation context of an account read back from the database: it was checked against the
policy when its directory was loaded (A1, A3), and is not checked again."""


def under(rules: TierRules) -> dict[str, Any]:
    """Validation context of a directory (or an account) checked against a policy's tiers:
    `Directory.model_validate(data, context=under(policy.tier_rules()))`. Without one, the
    default policy's (`S1_RULES`)."""
    return {"tiers": rules}


def rules_of(info: ValidationInfo) -> TierRules | None:
    """The tier rules a validation runs under; None: none (`LOADED`)."""
    context = info.context if isinstance(info.context, dict) else {}
    if "tiers" not in context:
        return S1_RULES
    found = context["tiers"]
    return found if isinstance(found, TierRules) else None
