"""What a notification says on its way out: pure, no I/O.

U5: a message about a restricted case to someone who may not read its content carries none of
it, only that there is news and where to read it after signing in. E3: a message to an
Escalation Manager says how to acknowledge: the case's Case Center page (after signing in, its
Acknowledge button), the CLI command, or the API route; acknowledging stops the ladder. The
link carries no credential of its own: a forwarded mail acknowledges nothing."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

SUBJECT_CHARS = 200
PAGE_SUMMARY_CHARS = 1_024  # PagerDuty's bound on payload.summary
_OLD_ACK = re.compile(r"Acknowledge within (\S+): casework acknowledge \S+ --as \S+")
_SUBJECT_WITHOUT_CONTENT = re.compile(r"^(Escalation \S+ on \S+|SLA breach on \S+)$")
MANAGERS = frozenset({"escalation_manager", "support_director"})


@dataclass(frozen=True)
class Outgoing:
    key: str
    """The outbox's idempotency key: Message-ID, Idempotency-Key, dedup_key."""
    subject: str
    text: str
    case_id: str | None
    link: str | None
    acknowledge: str | None
    """E3: the command a paged manager runs to acknowledge."""
    withheld: bool


def case_link(public_url: str, case_id: str) -> str:
    """The case's Case Center page (casework.door.page)."""
    return f"{public_url.rstrip('/')}/cases/{case_id}"


def api_link(public_url: str, case_id: str) -> str:
    return f"{public_url.rstrip('/')}/v1/cases/{case_id}"


def acknowledge_command(manager_id: str, case_id: str) -> str:
    return f"casework --profile {manager_id} acknowledge {case_id}"


def compose(row: dict[str, Any], *, withheld: bool, public_url: str) -> Outgoing:
    """The message for one outbox row. `withheld`: U5 says its recipient may not read it."""
    case_id = row.get("case_id")
    link = case_link(public_url, case_id) if case_id else None
    manager = row["recipient_kind"] in MANAGERS
    acknowledge = acknowledge_command(row["recipient_id"], case_id) if manager and case_id else None
    if withheld:
        subject = row["subject"] if _SUBJECT_WITHOUT_CONTENT.match(row["subject"]) else None
        subject = subject or (f"News on {case_id}" if case_id else "News from casework")
        lines = [
            f"There is news on {case_id or 'a case'}. It is about a US Citizen Support case, "
            "so this message carries none of it: sign in to read it.",
        ]
    else:
        subject = row["subject"]
        lines = [_OLD_ACK.sub(r"Acknowledge within \1.", row["body"])]
    if link:
        lines += ["", f"Read it: {link} (sign in), or: casework show {case_id}"]
    if acknowledge and case_id:
        lines += [
            "",
            f"Acknowledge (stops the escalation ladder): on {link} (sign in, Acknowledge), or "
            f"{acknowledge}, or POST {api_link(public_url, case_id)}/actions/"
            "acknowledge_escalation with your casework credential",
        ]
    return Outgoing(
        key=row["idempotency_key"],
        subject=subject[:SUBJECT_CHARS],
        text="\n".join(lines),
        case_id=case_id,
        link=link,
        acknowledge=acknowledge,
        withheld=withheld,
    )


def message_id(key: str, domain: str = "casework") -> str:
    """An RFC 5322 Message-ID made from the idempotency key: the same key, the same id, so a
    mail sent twice is one mail to a server or client that de-duplicates."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def chat_payload(message: Outgoing) -> dict[str, Any]:
    """A Slack-compatible incoming webhook's body."""
    return {"text": f"*{message.subject}*\n{message.text}"}


def pagerduty_payload(message: Outgoing, routing_key: str) -> dict[str, Any]:
    """PagerDuty Events API v2: trigger, de-duplicated by the outbox key."""
    details: dict[str, Any] = {"case": message.case_id, "message": message.text}
    if message.acknowledge:
        details["acknowledge"] = message.acknowledge
    payload: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": message.key,
        "payload": {
            "summary": message.subject[:PAGE_SUMMARY_CHARS],
            "source": "casework",
            "severity": "critical",
            "custom_details": details,
        },
    }
    if message.link:
        payload["links"] = [{"href": message.link, "text": f"{message.case_id} (sign in)"}]
    return payload


def page_webhook_payload(message: Outgoing) -> dict[str, Any]:
    """A generic paging webhook's body."""
    return {
        "key": message.key,
        "case_id": message.case_id,
        "subject": message.subject,
        "text": message.text,
        "acknowledge": message.acknowledge,
        "link": message.link,
    }
