"""A workflow's start input, decoded by the workflow itself (issue 24).

The SDK decodes a start's input before any workflow code runs, and an input that does not
convert fails the workflow task, again and again: anyone with access to the namespace who
starts `Case`, `Intake` or the relay with garbage (a payload labelled encrypted that does not
decrypt, JSON of another shape) leaves a workflow that never runs nor ends. An intake left so
holds its request id (the door's next open of that request waits on it for good), the relay's
id its notifications. So each of them takes its input raw (`RawValue`) and decodes it here:

- a first run whose input does not decode fails at once, non-retryable, with the reason
  (`InvalidStartInput`): the stranger's workflow is closed, and the id is free again where its
  reuse policy allows it (an intake's does);
- a run continued as new decodes what its previous run wrote: if that fails, the fault is
  ours (a key missing from this worker's ring, a model changed without a default), so the
  workflow task fails as it did before and the run goes on once the worker is fixed. Failing
  the workflow there would end a customer's case for good.

Decoding the raw value with the workflow's own payload converter is what the SDK did with the
typed parameter, so every recorded history replays unchanged. A start with more than one
argument is refused by the SDK before this code runs (the arguments do not match the
parameters): that stays a failing task.
"""

from __future__ import annotations

from typing import Any, TypeVar

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from casework.codec.payload import UndecodablePayload

M = TypeVar("M", bound=BaseModel)

NO_INPUT = RawValue(Payload(metadata={"encoding": b"binary/null"}))
"""What a start with no input gives the workflow: null, which no input model accepts."""
MAX_REASON_CHARS = 200


def start_input(raw: Any, model: type[M]) -> M:
    """The workflow's input as `model`; see the module docstring for what a failure does."""
    try:
        if isinstance(raw, RawValue):
            return workflow.payload_converter().from_payload(raw.payload, model)
        return model.model_validate(raw)
    except Exception as e:
        if workflow.info().continued_run_id is not None:
            raise
        info = workflow.info()
        raise ApplicationError(
            f"{info.workflow_type} {info.workflow_id} not started: its input {_why(e, model)}. "
            f"It takes one {model.__name__} as JSON, and only casework starts it.",
            type="InvalidStartInput",
            non_retryable=True,
        ) from None


def memo_or_refuse(key: str, default: Any, type_hint: type) -> Any:
    """A memo value of a first run; a start whose memo does not decode fails like a start
    whose input does not (`start_input`)."""
    try:
        return workflow.memo_value(key, default=default, type_hint=type_hint)
    except Exception as e:
        if workflow.info().continued_run_id is not None:
            raise
        info = workflow.info()
        raise ApplicationError(
            f"{info.workflow_type} {info.workflow_id} not started: its memo {key!r} "
            f"{_why(e, type_hint)}.",
            type="InvalidStartInput",
            non_retryable=True,
        ) from None


def _why(error: Exception, model: type) -> str:
    """Why the input did not decode, without quoting it."""
    if isinstance(error, UndecodablePayload):
        text = f"could not be decoded ({error})"
    elif isinstance(error, ValidationError) and error.errors():
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the input"
        text = f"is not a {model.__name__} ({where}: {first['msg']})"
    elif isinstance(error, KeyError):
        text = f"has an encoding no converter knows ({str(error).strip(chr(39))})"
    else:
        text = f"could not be decoded ({type(error).__name__})"
    return text[:MAX_REASON_CHARS]
