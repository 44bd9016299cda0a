"""How the Case Center page says things to the person reading it (issue 26): times in the
reader's own zone with the zone shown, and, for a customer, plain words: never a rule id
("(E3)", "P4:") nor an internal action name ("escalate_now"), and labels that never repeat
themselves ("Closed (closed)", "Read refused (refused)"). Engineers and managers keep the rule
ids, which tell them which rule a refusal or a step follows. Pure: no requests, no engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from casework.domain.catalogue import CATALOGUE
from casework.domain.catalogue_entry import CUSTOMERS
from casework.domain.endings import ended_phrase

DEFAULT_ZONE = "UTC"
_RULE = r"[ASEUP]\d{1,2}"
_RULE_LIST = rf"{_RULE}(?:\s*(?:,|/|and|-|–)\s*{_RULE})*"
_RULE_IDS = (
    re.compile(rf"\s*\((?:rules?\s+)?{_RULE_LIST}\)"),  # "... (E3)", "(U4, S2)"
    re.compile(rf"\b{_RULE_LIST}:\s*"),  # "E2: to product engineering"
    re.compile(rf",?\s*\b(?:by|see|under|per)\s+(?:rule\s+)?{_RULE_LIST}\b"),
)
ACTION_WORDS: dict[str, str] = {
    "respond": "response",
    "first_response": "first response",
    "comment": "comment",
    "request_info": "request for information",
    "provide_info": "information provided",
    "escalate": "escalated to the next level",
    "escalate_now": "escalation requested",
    "change_priority": "priority changed",
    "file_problem_report": "problem report filed",
    "resolve": "resolved",
    "reopen": "reopened",
    "close": "closed",
    "attach": "file attached",
    "request_log_approval": "approval to share logs requested",
    "approve_log_sharing": "log sharing approved",
    "decline_log_sharing": "log sharing declined",
    "acknowledge": "escalation acknowledged",
    "accept": "case accepted",
    "read_refused": "read refused",
    "sla_breached": "response target missed",
    "routed_to_us_citizen": "routed to US Citizen Support",
    "waiting_for_business_hours": "waiting for business hours",
    "waiting_in_queue": "waiting for an engineer",
    "assigned": "assigned",
    "continued": "record continued",
}
"""What each feed kind or action is called on the page; any other is its name in words."""
_ACTION_NAMES = re.compile(
    r"\b("
    + "|".join(sorted({a.name for a in CATALOGUE} | set(ACTION_WORDS), key=len)[::-1])
    + r")\b"
)


def without_rule_ids(text: str) -> str:
    """`text` with its rule ids taken out, for a customer's eyes."""
    for pattern in _RULE_IDS:
        text = pattern.sub("", text)
    return re.sub(r"\s{2,}", " ", text).strip()


def without_action_names(text: str) -> str:
    """Internal action names ("escalate_now") in words ("escalation requested")."""
    return _ACTION_NAMES.sub(lambda m: ACTION_WORDS.get(m[1], m[1].replace("_", " ")), text)


def plain(text: str) -> str:
    """A sentence as a customer reads it: no rule ids, no internal action names."""
    return without_action_names(without_rule_ids(text))


def kind_words(kind: str, refused: bool = False) -> str:
    """A feed entry's kind in words, capitalised; "refused" said once."""
    words = ACTION_WORDS.get(kind, kind.replace("_", " "))
    if refused and "refused" not in words:
        words = f"{words}: refused"
    return words[:1].upper() + words[1:]


def state_words(state: str | None, ended: str | None, words: dict[str, str]) -> str:
    """A case's state in words; a case whose workflow ended says how, once."""
    if ended and ended != "closed":
        return ended_phrase(ended).capitalize()
    if ended == "closed" or state == "closed":
        return words.get("closed", "Closed")
    return words.get(state or "", (state or "").replace("_", " ").capitalize())


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):  # the directory checks zones; never fail a page
        return ZoneInfo(DEFAULT_ZONE)


@dataclass(frozen=True)
class Reader:
    """Who reads the page: how to say a time and a sentence to them."""

    zone: ZoneInfo
    customer: bool

    @property
    def zone_name(self) -> str:
        return self.zone.key

    def when(self, value: datetime | None) -> str:
        """A time in the reader's zone, the zone shown (`2026-03-02 09:15 EST`)."""
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        local = value.astimezone(self.zone)
        return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or self.zone.key)

    def say(self, text: str | None) -> str:
        """A sentence from the engine or the rules, in words this reader is meant to read."""
        if not text:
            return ""
        return plain(text) if self.customer else text

    def helpers(self) -> dict[str, Callable[..., str] | str]:
        return {"when": self.when, "say": self.say, "zone_name": self.zone_name}


def reader_of(kind: str | None, zone: str | None) -> Reader:
    return Reader(zone_of(zone), customer=kind in CUSTOMERS)
