"""What an entry of the catalogue of Case Center actions says (casework/domain/catalogue.py):
the action's model, the part of the case workflow that applies it, who is offered it on the
page and its form, whether Customer Care may record it for a caller, and its CLI command. Pure
data, without pydantic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Part = Literal["clock", "actions", "approvals", "ladder", "routing"]
"""The case workflow's parts, by the attribute the workflow keeps each in (workflow.py)."""
Group = Literal["actions", "escalations", "files", "premium"]
"""The CLI module (casework/cli/<group>.py) that declares a command, in `--help` order."""

CUSTOMERS = ("contact",)
ENGINEERS = ("engineer", "partner_engineer")
MANAGERS = ("escalation_manager", "support_director")
"""Kinds of person (casework.door.people.Kind) an action's form is offered to on the page."""


@dataclass(frozen=True)
class FormField:
    """A field of an action's form on the page. A select's or checkboxes' choices come from the
    model's field (an enum or a literal; an optional select adds "", keep as it is)."""

    name: str
    label: str
    kind: Literal["text", "textarea", "select", "checkboxes"] = "text"
    required: bool = False


@dataclass(frozen=True)
class Form:
    """An action's form on the Case Center page; forms are drawn in the order of `place`."""

    label: str
    button: str
    place: int
    fields: tuple[FormField, ...] = ()
    tone: Literal["normal", "primary", "warning", "danger"] = "normal"
    hint: str = ""


@dataclass(frozen=True)
class Option:
    """A CLI option that sets one field of the action's model. `required` as the model says
    (tests/test_catalogue.py checks); `repeat`: a list, one item per use, each stripped;
    `lower`: items are lowercased too."""

    field: str
    flag: str
    help: str
    required: bool = False
    repeat: bool = False
    lower: bool = False


@dataclass(frozen=True)
class Command:
    """The action's `casework` command. `by_hand`: declared in casework/cli/<group>.py because
    it does more than send its options (a file upload, an answer printed with the escalation);
    it still takes its help and option names from here. `--for` comes with `by_phone`."""

    name: str
    group: Group
    help: str
    options: tuple[Option, ...] = ()
    by_hand: bool = False


@dataclass(frozen=True)
class Action:
    """One Case Center action.

    name: the case's update (and the `act` signal's `action`), the lifecycle event that rules
    it, the door's `/v1/cases/{case}/actions/{name}`. model: its pydantic model's class name.
    part, handler: the method of the case workflow's part that applies it. offered_to: the
    kinds of person the page offers its form to (among the case's allowed actions). by_phone:
    Customer Care may record it for a caller (`on_behalf_of`, `--for`; E3, U6).
    names_escalation: its answer names the escalation and its manager (E3). upload: a file,
    sent to `/v1/cases/{case}/attachments`, not to the action route. own_update: the workflow
    writes its update by hand (it answers once the case is routed) and the `act` signal does
    not take it. tells_customer: the action says something to the customer (it sends them a
    message); S2: the owning engineer's first such act is the case's first response."""

    name: str
    model: str
    part: Part
    handler: str
    offered_to: tuple[str, ...]
    form: Form
    command: Command
    by_phone: bool = False
    names_escalation: bool = False
    upload: bool = False
    own_update: bool = False
    tells_customer: bool = False
