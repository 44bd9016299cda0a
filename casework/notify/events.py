"""Case events for integrations' webhooks (issue 13, delivered by issue 14's relay): which feed
entries are events, and what a webhook's body says. Pure.

Events: opened, responded, breached, escalated, resolved, closed. The body is JSON:
`{"id", "event", "case_id", "occurred_at", "actor", "text"}`; `id` (also the
`Casework-Event-Id` header) is the same for every delivery of the event: de-duplicate by it.
U5: a restricted case's event carries neither actor nor text, and says `"restricted": true`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

EVENTS = ("opened", "responded", "breached", "escalated", "resolved", "closed")
FEED_KINDS = {
    "opened": "opened",
    "first_response": "responded",
    "respond": "responded",
    "sla_breached": "breached",
    "escalate": "escalated",
    "escalate_now": "escalated",
    "escalated": "escalated",
    "resolve": "resolved",
    "close": "closed",
}
TEXT_CHARS = 4_000
"""Bound on the feed text an event carries."""


def event_of(kind: str, refused: bool) -> str | None:
    return None if refused else FEED_KINDS.get(kind)


def event_id(case_id: str, seq: int) -> str:
    return f"{case_id}:{seq}"


def event_body(
    event: str,
    case_id: str,
    seq: int,
    at: datetime,
    actor: str,
    text: str,
    restricted: bool,
    public_url: str | None = None,
) -> str:
    body: dict[str, Any] = {
        "id": event_id(case_id, seq),
        "event": event,
        "case_id": case_id,
        "occurred_at": at.isoformat(),
    }
    if restricted:  # U5: only that it happened
        body["restricted"] = True
    else:
        body["actor"] = actor
        body["text"] = text[:TEXT_CHARS]
    if public_url:
        body["link"] = f"{public_url.rstrip('/')}/v1/cases/{case_id}"
    return json.dumps(body, sort_keys=True)


def check_events(events: list[str]) -> list[str]:
    """The events asked for, checked; 'all' (or none) means every event."""
    asked = [e.strip().lower() for e in events if e.strip()]
    if not asked or asked == ["all"]:
        return list(EVENTS)
    unknown = [e for e in asked if e not in EVENTS]
    if unknown:
        raise ValueError(
            f"unknown event {', '.join(repr(e) for e in unknown)}: use {', '.join(EVENTS)} or all"
        )
    return sorted(set(asked), key=EVENTS.index)
