"""The case's update of each Case Center action, generated from the catalogue
(casework/domain/catalogue.py), and the table from action to the part's method that applies it.

Temporal reads a workflow's handlers from its class when `@workflow.defn` runs, so the updates
are made here at import time, one `workflow.update(name=...)` per action, on `ActionUpdates`,
which `CaseWorkflow` inherits. Each update takes the action's JSON (`payload: Any`, never a
model: a typed parameter is decoded before acceptance, and histories hold payloads the model
refuses), is validated against the action's model before it enters history, and goes to
`CaseWorkflow._act`. Names, payloads and validators are as they always were: histories replay
and the `temporal` CLI and Web UI call them by name. `accept` and `read` are written by hand in
the workflow (they answer more than an `ActionResult`) with validators from here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from casework.domain.actions import ACTION_MODELS, MODELS, ActionResult, ViewRequest
    from casework.domain.catalogue import CATALOGUE
    from casework.domain.lifecycle import Actor
    from casework.domain.validation import PayloadError, parse_payload

from workflows.case.callers import Claimed, as_principal, checked_principal

Handler = Callable[[Any, Actor], Awaitable[str] | str]
READ = "read"
"""The audited read (U5): an update with a `ViewRequest`, whose caller is its `viewer`."""


def model_of(name: str) -> Any:
    """The model an update's payload must fit: the action's, or the read's."""
    return ViewRequest if name == READ else MODELS[name]


def caller_field(name: str) -> str:
    """The payload's field that names who calls: `actor`, or the read's `viewer`."""
    return "viewer" if name == READ else "actor"


def validator(name: str) -> Callable[..., None]:
    """Reject a payload the action's model does not accept before it enters history."""
    model, field = model_of(name), caller_field(name)

    def validate(self, payload: Any = None) -> None:
        try:
            parse_payload(model, as_principal(payload, checked_principal(), field))
        except (PayloadError, Claimed) as e:
            raise ApplicationError(
                f"{name} refused on {self.case.case_id}: {e}",
                type="InvalidPayload",
                non_retryable=True,
            ) from None

    return validate


def _action_update(name: str) -> Any:
    """The update for one Case Center action: validated at the door, then `_act`."""

    async def update(self, payload: Any = None) -> ActionResult:
        return await self._act(name, payload)

    update.__name__ = name
    defined = workflow.update(name=name)(update)
    defined.validator(validator(name))
    return defined


class ActionUpdates:
    """One update per action of `ACTION_MODELS` (every catalogue action but those the workflow
    writes by hand), as attributes of the action's name."""


for _name in ACTION_MODELS:
    setattr(ActionUpdates, _name, _action_update(_name))


def handlers_of(case: object) -> dict[str, Handler]:
    """Each action's handler: the method its catalogue entry names on the workflow's part."""
    return {a.name: getattr(getattr(case, a.part), a.handler) for a in CATALOGUE}
