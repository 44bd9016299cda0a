"""A case's side effects of one workflow task, written by one activity (issue 12).

A case decides several writes at once (a feed entry, a notification, its report facts): as one
activity each they cost a round trip through the server and a workflow task apiece; batched,
one. Each effect runs the activity it replaces, in the order the case decided them; each is
idempotent on its own key, so a batch retried after a partial failure repeats nothing.
"""

from __future__ import annotations

import asyncio
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from casework.contracts import APPLY_EFFECTS, BATCHED_EFFECTS, EffectBatch


class EffectActivities:
    def __init__(self, writers: Mapping[str, Callable[[Any], Any]]) -> None:
        """`writers`: the activity (a bound `@activity.defn` method, plain or async) of each
        batched effect."""
        missing = set(BATCHED_EFFECTS) - set(writers)
        if missing:
            raise ValueError(f"no writer for batched effects {sorted(missing)}")
        self.writers = {name: (fn, _input_model(fn)) for name, fn in writers.items()}

    @activity.defn(name=APPLY_EFFECTS)
    async def apply_effects(self, batch: EffectBatch) -> int:
        blocking: list[tuple[Callable[[Any], Any], Any]] = []
        for effect in batch.effects:
            writer = self.writers.get(effect.activity)
            if writer is None:
                raise ApplicationError(
                    f"{batch.case_id}: no such side effect {effect.activity!r}; "
                    f"known: {', '.join(BATCHED_EFFECTS)}",
                    type="UnknownEffect",
                    non_retryable=True,
                )
            fn, model = writer
            arg = model.model_validate(effect.arg)
            if inspect.iscoroutinefunction(fn):
                await _in_thread(blocking)
                await fn(arg)
            else:
                blocking.append((fn, arg))
        await _in_thread(blocking)
        return len(batch.effects)


async def _in_thread(calls: list[tuple[Callable[[Any], Any], Any]]) -> None:
    """Run the store's blocking writes waiting in `calls`, in order, in one thread hop."""
    if not calls:
        return
    pending = list(calls)
    calls.clear()

    def run() -> None:
        for fn, arg in pending:
            fn(arg)

    await asyncio.to_thread(run)


def _input_model(fn: Callable[[Any], Any]) -> type[BaseModel]:
    hints = typing.get_type_hints(fn)
    hints.pop("return", None)
    (model,) = hints.values()
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{fn.__name__} does not take one pydantic model")
    return model
