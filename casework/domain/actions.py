"""Actions on a case (E2-E5, U5, U6, E3, A3): one pydantic model per Case Center action, the
table from action name to model (named by the catalogue, casework.domain.catalogue), and what
an action answers. Pure.

Text fields follow the character rule (casework.domain.validation): a one-line reason (the
Case Center's one-line inputs: change priority, close, decline) and an attachment's name take
no control character; texts (comments, responses, notes, the reasons of escalate and reopen)
keep line breaks and tabs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from casework.domain.catalogue import CATALOGUE
from casework.domain.catalogue import ESCALATION_ACTIONS as ESCALATION_ACTIONS
from casework.domain.catalogue_entry import Action
from casework.domain.models import (
    Identifier,
    Lenient,
    Level,
    LongText,
    OptionalLine,
    OptionalText,
    Priority,
    ShortText,
    Strict,
)

InfoKind = Literal[
    "hardware",
    "software_version",
    "logs",
    "events_before_problem",
    "configuration",
    "deployment_type",
    "device_locations",
]


class ActionBase(Strict):
    actor: Identifier


class Respond(ActionBase):
    """S2: the assigned engineer's response; the first one stops the clock."""

    text: LongText


class Comment(ActionBase):
    text: LongText


class RequestInfo(ActionBase):
    """E5: the engineer asks the customer for information."""

    items: list[InfoKind] = Field(min_length=1, max_length=7)
    text: OptionalText = ""


class ProvideInfo(ActionBase):
    """E5: the customer answers; the case returns to the engineer."""

    text: LongText


class Escalate(ActionBase):
    """E2: the owner cannot resolve at this level."""

    reason: LongText


class FileProblemReport(ActionBase):
    """E2: at L3, a Problem Report to product engineering."""

    summary: LongText


class ChangePriority(ActionBase):
    """E4/S4."""

    priority: Priority
    reason: OptionalLine = ""

    @field_validator("priority", mode="before")
    @classmethod
    def _normalise(cls, v: object) -> object:
        return v.strip().upper() if isinstance(v, str) else v


class Resolve(ActionBase):
    resolution: LongText


class Close(ActionBase):
    """E4: the customer closes their case at any time."""

    reason: OptionalLine = ""


class Reopen(ActionBase):
    reason: LongText


MAX_LOGS_PER_REQUEST = 20
"""U6: the logs one request to share may name."""

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Attach(ActionBase):
    """A file the client has put in the attachment store (U5: never in workflow history)."""

    name: ShortText
    kind: Literal["log", "configuration", "other"] = "log"
    sha256: Sha256
    size: int = Field(ge=0)


class RequestLogApproval(ActionBase):
    """U6: the owner asks the customer before any log goes to product engineering."""

    logs: list[Identifier] = Field(min_length=1, max_length=MAX_LOGS_PER_REQUEST)
    note: OptionalText = ""


class ApproveLogs(ActionBase):
    """U6: an authorised contact approves the pending request (exactly its logs, one PR)."""

    request_id: Identifier | None = None


class DeclineLogs(ActionBase):
    """U6: declining is allowed; the case goes on without sharing logs."""

    request_id: Identifier | None = None
    reason: OptionalLine = ""


EscalationReasonName = Literal["lack_of_progress", "expertise", "business_impact", "other"]


class EscalateNow(ActionBase):
    """E3: a contact escalates the case, online (Escalate Now) or by phone, where Customer Care
    records it on their behalf (`recorded_by`). E4: it may raise the priority."""

    reason: EscalationReasonName
    note: OptionalText = ""
    priority: Priority | None = None
    channel: Literal["online", "phone"] = "online"
    recorded_by: Identifier | None = Field(
        default=None, description="E3: the Customer Care engineer who took the call"
    )

    @field_validator("priority", mode="before")
    @classmethod
    def _normalise(cls, v: object) -> object:
        return v.strip().upper() if isinstance(v, str) else v

    @model_validator(mode="after")
    def _phone_is_recorded_by_customer_care(self) -> EscalateNow:
        if self.channel == "phone" and self.recorded_by is None:
            raise ValueError(
                "a phone escalation names the Customer Care engineer who took the call: "
                "add recorded_by"
            )
        if self.channel == "online" and self.recorded_by is not None:
            raise ValueError(
                "recorded_by is for phone escalations only: set channel to phone, or leave "
                "recorded_by out"
            )
        return self


class AcknowledgeEscalation(ActionBase):
    """E3: the Escalation Manager who has the escalation acknowledges it."""

    note: OptionalText = ""


class DeEscalate(ActionBase):
    """E3: the Escalation Manager who has the escalation ends it."""

    note: OptionalText = ""


class Accept(ActionBase):
    """A3: the premium expert takes the case offered to them."""


def _model_of(action: Action) -> type[ActionBase]:
    """The model a catalogue entry names: a class of this module (fails at import if not)."""
    model = globals().get(action.model)
    if not (isinstance(model, type) and issubclass(model, ActionBase)):
        raise TypeError(
            f"the catalogue's {action.name!r} names model {action.model!r}, which is not an "
            "action model of casework.domain.actions: define it here, or correct the entry"
        )
    return model


MODELS: dict[str, type[ActionBase]] = {a.name: _model_of(a) for a in CATALOGUE}
"""Every Case Center action's model, by action name (casework.domain.catalogue)."""
ACTION_MODELS: dict[str, type[ActionBase]] = {
    a.name: MODELS[a.name] for a in CATALOGUE if not a.own_update
}
"""The actions the case's generated updates and its `act` signal take (all but `accept`)."""


class ActionResult(Lenient):
    case_id: str
    action: str
    state: str
    level: Level
    message: str
    escalation_id: str | None = Field(default=None, description="E3: the escalation acted on")
    escalation_manager: str | None = Field(
        default=None, description="E3: who has the escalation now, as `id (name)`"
    )


class ViewRequest(Strict):
    viewer: Identifier = "operator"
