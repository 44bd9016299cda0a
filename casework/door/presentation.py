"""How the Case Center page presents a case (issue 13): the forms each kind of person is
offered, the SLA clock and what the case waits for, in words. Pure: no requests, no engine;
`casework.door.page` draws these into its templates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from casework.domain.actions import EscalationReasonName, InfoKind
from casework.domain.models import CaseView, Priority
from casework.door.people import Identity

CUSTOMER_ACTIONS = (
    "comment",
    "provide_info",
    "change_priority",
    "escalate_now",
    "approve_logs",
    "decline_logs",
    "close",
    "reopen",
)
ENGINEER_ACTIONS = (
    "respond",
    "request_info",
    "comment",
    "escalate",
    "resolve",
    "change_priority",
    "request_log_approval",
    "file_problem_report",
    "accept",
)
MANAGER_ACTIONS = ("acknowledge_escalation", "de_escalate")
ROLE_ACTIONS: dict[str, tuple[str, ...]] = {
    "contact": CUSTOMER_ACTIONS,
    "engineer": ENGINEER_ACTIONS,
    "partner_engineer": ENGINEER_ACTIONS,
    "escalation_manager": MANAGER_ACTIONS,
    "support_director": MANAGER_ACTIONS,
}
"""Which forms a person of each kind is shown, among the engine's allowed actions."""


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
_INFO_ITEMS: tuple[str, ...] = InfoKind.__args__  # type: ignore[attr-defined]
_REASONS: tuple[str, ...] = EscalationReasonName.__args__  # type: ignore[attr-defined]

FORMS: dict[str, ActionForm] = {
    "respond": ActionForm(
        "Respond to the customer",
        "Send response",
        (Field("text", "Response", "textarea", True),),
        "primary",
        "Your first response stops the SLA clock (S2).",
    ),
    "comment": ActionForm(
        "Add a comment", "Post comment", (Field("text", "Comment", "textarea", True),), "primary"
    ),
    "request_info": ActionForm(
        "Request information",
        "Ask the customer",
        (
            Field("items", "What you need", "checkboxes", True, _INFO_ITEMS),
            Field("text", "Message", "textarea"),
        ),
        hint="The case waits on the customer until they answer (E5).",
    ),
    "provide_info": ActionForm(
        "Provide the information asked for",
        "Send information",
        (Field("text", "Information", "textarea", True),),
        "primary",
    ),
    "change_priority": ActionForm(
        "Change priority",
        "Change priority",
        (
            Field("priority", "New priority", "select", True, PRIORITIES),
            Field("reason", "Why"),
        ),
        hint="The SLA target is recomputed from the opening time (S4).",
    ),
    "escalate_now": ActionForm(
        "Escalate Now",
        "Escalate Now",
        (
            Field("reason", "Reason", "select", True, _REASONS),
            Field("priority", "Raise priority to (optional)", "select", False, ("", *PRIORITIES)),
            Field("note", "Note for the Escalation Manager", "textarea"),
        ),
        "warning",
        "An Escalation Manager on duty takes it up (E3).",
    ),
    "approve_logs": ActionForm(
        "Approve sharing the logs",
        "Approve",
        (),
        "primary",
        "Exactly the logs named in the request go to product engineering, for this escalation "
        "only (U6).",
    ),
    "decline_logs": ActionForm(
        "Decline sharing the logs",
        "Decline",
        (Field("reason", "Why (optional)"),),
        "danger",
        "The case goes on without the logs; resolution may be significantly delayed (U6).",
    ),
    "close": ActionForm(
        "Close the case", "Close case", (Field("reason", "Why (optional)"),), "danger"
    ),
    "reopen": ActionForm(
        "Reopen the case", "Reopen", (Field("reason", "Why", "textarea", True),), "warning"
    ),
    "escalate": ActionForm(
        "Escalate to the next level",
        "Escalate",
        (Field("reason", "Reason", "textarea", True),),
        "warning",
        "The case goes back to routing one level up (E2).",
    ),
    "resolve": ActionForm(
        "Resolve", "Resolve case", (Field("resolution", "Resolution", "textarea", True),), "primary"
    ),
    "request_log_approval": ActionForm(
        "Ask the customer to approve sharing logs",
        "Request approval",
        (Field("logs", "Logs (att-N)", "checkboxes", True), Field("note", "Note")),
        hint="U6: nothing leaves without the approval of an authorised contact.",
    ),
    "file_problem_report": ActionForm(
        "File a Problem Report",
        "File PR",
        (Field("summary", "Summary", "textarea", True),),
        hint="E2: to product engineering; the case stays open and linked.",
    ),
    "accept": ActionForm("Accept this case", "Accept", (), "primary"),
    "acknowledge_escalation": ActionForm(
        "Acknowledge the escalation", "Acknowledge", (Field("note", "Note"),), "primary"
    ),
    "de_escalate": ActionForm("De-escalate", "De-escalate", (Field("note", "Note"),)),
}

DONE = {name: form.label for name, form in FORMS.items()} | {"attach": "Attach a file"}
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
    if view.sla_paused_reason:
        return Clock("paused", "Clock paused", view.sla_paused_reason)
    return Clock(
        "running",
        duration_words(view.sla_remaining_seconds),
        f"First response due {when(sla.due_at)} ({_target(view)} target)",
    )


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
    return (
        not view.content_withheld
        and "attach" in view.allowed_actions
        and person.kind
        in (
            "contact",
            "engineer",
            "partner_engineer",
        )
    )


# --- the routes --------------------------------------------------------------------------------
