"""How a person of the directory is reached (issue 14): email, a chat webhook, paging.

In the directory file, any person (a contact, an engineer, a partner, an Escalation Manager, the
support director) may say how notifications reach them; without `notify`, by email to their
address if they have one:

    notify:
      email: true                                   # mail their `email` (the default)
      chat: https://hooks.slack.com/services/T/B/X   # a Slack-compatible incoming webhook
      page:                                         # Escalation Managers and the director only
        kind: pagerduty                             # PagerDuty Events v2, or `webhook`
        url: https://events.pagerduty.com/v2/enqueue
        routing_key: R0123456789ABCDEF0123456789ABCD

Pure models and checks; the relay (`casework.notify`) sends, the directory loader validates.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from casework.domain.models import Strict

WebAddress = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^https?://\S+$")]
ChannelName = Literal["email", "chat", "page"]
PAGED_KINDS = frozenset({"escalation_manager", "support_director"})
"""E3/S3: who is paged. Everyone else is mailed or told in chat."""


class Pager(Strict):
    """A paging endpoint: PagerDuty Events v2 (or a compatible one) with the service's
    routing key, or a generic webhook that takes the relay's JSON."""

    kind: Literal["pagerduty", "webhook"] = "pagerduty"
    url: WebAddress = Field(max_length=300)
    routing_key: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None

    @model_validator(mode="after")
    def _pagerduty_needs_routing_key(self) -> Pager:
        if self.kind == "pagerduty" and not self.routing_key:
            raise ValueError(
                "a pagerduty pager needs the service's routing_key (its Events v2 integration "
                "key); or write kind: webhook for a generic paging webhook"
            )
        return self


class Channels(Strict):
    email: bool = Field(default=True, description="mail the person's email address")
    chat: WebAddress | None = Field(
        default=None, max_length=300, description="a Slack-compatible incoming webhook URL"
    )
    page: Pager | None = Field(
        default=None, description="paging, for Escalation Managers and the support director"
    )


def channels_refusal(
    kind: str, person_id: str, email: str | None, channels: Channels | None
) -> str | None:
    """Why `channels` does not fit this person, or None. `kind`: the directory's person kind
    (contact, engineer, partner, escalation_manager, support_director)."""
    if channels is None:
        return None
    if channels.page is not None and kind not in PAGED_KINDS:
        return (
            f"{person_id} cannot be paged: paging is for Escalation Managers and the support "
            "director (E3); give them email or chat instead"
        )
    if channels.email and not email:
        return (
            f"{person_id} has channels.email but no email address: give them an email, or "
            "write email: false"
        )
    if not (channels.email or channels.chat or channels.page):
        return f"{person_id} has no channel left: give them email, chat or page"
    return None


def channels_of(email: str | None, channels: Channels | None) -> list[ChannelName]:
    """The channels a message to this person goes through, in the order they are tried."""
    if channels is None:
        return ["email"] if email else []
    found: list[ChannelName] = []
    if channels.email and email:
        found.append("email")
    if channels.chat:
        found.append("chat")
    if channels.page:
        found.append("page")
    return found


def lanes_to_wake(channels: Channels | None) -> list[ChannelName]:
    """The relay lanes a new message to this person is woken on (issue 30), before the relay
    plans it: `channels_of` without asking whether they have an address (the plan asks), so
    `email` unless their channels turn it off; and `email` when that leaves none, so that some
    round plans the message, dead with the fix if it has no channel."""
    if channels is None:
        return ["email"]
    found: list[ChannelName] = ["email"] if channels.email else []
    if channels.chat:
        found.append("chat")
    if channels.page:
        found.append("page")
    return found or ["email"]
