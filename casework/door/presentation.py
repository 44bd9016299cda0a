"""How the Case Center page presents a case (issue 13): the forms each kind of person is
offered, the SLA clock and what the case waits for, in words. Pure: no requests, no engine;
`casework.door.page` draws these into its templates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal, get_args, get_origin

from casework.domain.actions import MODELS
from casework.domain.catalogue import CATALOGUE
from casework.domain.catalogue_entry import CUSTOMERS, ENGINEERS, MANAGERS, Action
from casework.domain.models import CaseView, Priority
from casework.domain.partner import ACTIONS_ON_ITS_ESCALATION, escalated_for
from casework.door.people import Identity


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text, textarea, select, checkboxes
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionForm:
    label: str
    button: str
    fields: tuple[Field, ...] = ()
    tone: str = "normal"  # normal, primary, warning, danger
    hint: str = ""


PRIORITIES = tuple(p.value for p in Priority)


def choices_of(annotation: Any) -> tuple[str, ...]:
    """The values a model's field takes, for a select or checkboxes: an enum's or a literal's
    (inside an optional or a list); none for free text."""
    if get_origin(annotation) is Literal:
        return tuple(str(a) for a in get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return tuple(str(m.value) for m in annotation)
    for inner in get_args(annotation):
        found = choices_of(inner)
        if found:
            return found
    return ()


def _form(action: Action) -> ActionForm:
    """The catalogue's form of `action`, its choices from the action's model (an optional
    select offers "" first: keep the value as it is)."""
    model, form = MODELS[action.name], action.form
    fields = []
    for f in form.fields:
        choices: tuple[str, ...] = ()
        if f.kind in ("select", "checkboxes"):
            choices = choices_of(model.model_fields[f.name].annotation)
            if f.kind == "select" and not f.required:
                choices = ("", *choices)
        fields.append(Field(f.name, f.label, f.kind, f.required, choices))
    return ActionForm(form.label, form.button, tuple(fields), form.tone, form.hint)


_ON_THE_PAGE = sorted((a for a in CATALOGUE if not a.upload), key=lambda a: a.form.place)
FORMS: dict[str, ActionForm] = {a.name: _form(a) for a in _ON_THE_PAGE}
"""The forms the page draws, in the order it draws them (the catalogue's `place`); a file is
attached with the page's upload form (`may_attach`)."""
ROLE_ACTIONS: dict[str, tuple[str, ...]] = {
    kind: tuple(a.name for a in _ON_THE_PAGE if kind in a.offered_to)
    for kind in (*CUSTOMERS, *ENGINEERS, *MANAGERS)
}
"""Which forms a person of each kind is shown, among the engine's allowed actions."""
UPLOAD = next(a for a in CATALOGUE if a.upload)
DONE = {a.name: a.form.label for a in CATALOGUE}
STATE_WORDS = {
    "queued": "Queued for an engineer",
    "in_progress": "In progress",
    "waiting_on_customer": "Waiting on the customer",
    "waiting_on_vendor": "Waiting on our escalation team",
    "resolved": "Resolved",
    "closed": "Closed",
}


# --- what the templates are given ------------------------------------------------------------


def duration_words(seconds: float | None) -> str:
    if seconds is None:
        return ""
    late = seconds < 0
    left = int(math.ceil(abs(seconds) / 60))
    days, rest = divmod(left, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes or not parts else []
    text = " ".join(parts)
    return f"{text} overdue" if late else f"{text} left"


def when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class Clock:
    """The SLA clock as the case page shows it (S1-S4, U4)."""

    status: str  # running, paused, met, breached
    headline: str
    detail: str = ""


def clock_of(view: CaseView) -> Clock:
    """The clock as the door read it when it answered (`view.sla_read_at`, S2): time left is
    computed at that instant from the due time, never kept from the case's last change."""
    sla = view.sla
    if sla.responded_at is not None:
        late = sla.breached_at is not None
        return Clock(
            "breached" if late else "met",
            f"First response {when(sla.responded_at)}",
            "after the target: breached" if late else f"within the {_target(view)} target",
        )
    if sla.breached_at is not None:
        return Clock(
            "breached",
            f"Breached at {when(sla.breached_at)}",
            f"No first response yet; the {_target(view)} target was {when(sla.due_at)}",
        )
    if view.state in ("closed", "resolved") or view.ended:
        return Clock("met", "Clock stopped", f"the case is {view.state}")
    due = f"First response due {when(sla.due_at)} ({_target(view)} target)"
    left = duration_words(view.sla_remaining_seconds)
    if view.sla_paused_reason:  # U4: outside the service's hours, the time left stands still
        headline = f"Clock paused, {left}" if left else "Clock paused"
        return Clock("paused", headline, f"{view.sla_paused_reason}. {due}")
    return Clock("running", left, due)


def _target(view: CaseView) -> str:
    return duration_words(view.sla.target.total_seconds()).removesuffix(" left")


def waits_for(view: CaseView) -> str:
    """What the case waits for now, in words (E5, U4, U6)."""
    if view.ended:
        return f"Nothing: the case {view.ended.replace('_', ' ')}"
    pending = next((a for a in view.log_approvals if a.status == "pending"), None)
    if pending is not None:
        return (
            f"The customer's approval to share {', '.join(pending.logs)} with product "
            f"engineering (expires {when(pending.expires_at)})"
        )
    if view.state == "waiting_on_customer":
        items = ", ".join(i.replace("_", " ") for i in view.waiting_for) or "information"
        return f"The customer: {items}"
    if view.state == "queued":
        return view.sla_paused_reason or "An engineer to be assigned"
    if view.state == "waiting_on_vendor":
        return "Our escalation team (P4)"
    if view.state == "resolved":
        return "The customer to confirm and close, or reopen"
    if view.state == "closed":
        return "Nothing: the case is closed"
    owner = view.owner.engineer_name if view.owner else "the engineer"
    return f"{owner} working the case"


@dataclass
class Offered:
    name: str
    form: ActionForm
    fields: list[Field] = field(default_factory=list)


def offered_actions(person: Identity, view: CaseView) -> list[Offered]:
    """The engine's allowed actions, narrowed to the forms this person's kind has. Someone the
    case withholds its content from (U5) is offered none: they could not know what they act on,
    and the case would refuse them."""
    if view.content_withheld:
        return []
    mine = ROLE_ACTIONS.get(person.kind, ())
    if person.kind == "partner_engineer" and view.escalated_from:  # P4: our customer there
        mine = ACTIONS_ON_ITS_ESCALATION if escalated_for(view) == person.partner else ()
    allowed = set(view.allowed_actions)
    offered = []
    for name in mine:
        if name not in allowed or name not in FORMS:
            continue
        form = FORMS[name]
        fields = list(form.fields)
        if name == "request_log_approval":  # the case's own files
            fields[0] = Field(
                "logs", "Logs", "checkboxes", True, tuple(a.id for a in view.attachments)
            )
        offered.append(Offered(name, form, fields))
    return offered


def may_attach(person: Identity, view: CaseView) -> bool:
    """The page's upload form: for whom the catalogue offers it, when the case allows it."""
    return (
        not view.content_withheld
        and UPLOAD.name in view.allowed_actions
        and person.kind in UPLOAD.offered_to
    )


# --- the routes --------------------------------------------------------------------------------
