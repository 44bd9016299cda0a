"""A workflow's realm: whether its payloads are a US Citizen Support customer's (U5), and whose.

Pure: no Temporal, no I/O, so the codec, the codec server and the store share it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

RealmName = Literal["ordinary", "restricted"]
_VENDOR_ESCALATION = re.compile(r"^(?P<case>case-\d{6,})-esc-\d+$")


@dataclass(frozen=True)
class Realm:
    restricted: bool
    account_id: str | None = None
    """The account whose data it is; None when not known (an unregistered workflow). Account ids
    are not restricted content: they say whose data it is, not what it says."""

    @property
    def name(self) -> RealmName:
        return "restricted" if self.restricted else "ordinary"


UNKNOWN = Realm(restricted=True, account_id=None)
"""Fail closed: a workflow with no registered realm is treated as restricted, so only the
restricted queue's members can read it through the codec server."""


def realm_parent(workflow_id: str) -> str | None:
    """The workflow whose realm `workflow_id` shares when it has none of its own: a vendor
    escalation `case-000123-esc-1` is its case `case-000123`'s (P4)."""
    found = _VENDOR_ESCALATION.match(workflow_id)
    return found.group("case") if found else None
