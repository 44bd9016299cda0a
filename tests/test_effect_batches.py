"""A case's side effects of one workflow task go in one activity (issue 12), within bounds:
however much a task decides, no batch outgrows Temporal's payload warning, and an effect the
engine does not know is refused, not retried forever."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.exceptions import ApplicationError

from activities.effects import EffectActivities
from casework import contracts
from casework.contracts import Effect, EffectBatch, Notification
from workflows.case.context import effect_batches


def note(n: int, body: str = "x") -> Effect:
    return Effect(
        activity=contracts.NOTIFY,
        arg={"key": f"k{n}", "case_id": "case-000001", "body": body},
    )


def test_a_task_that_decides_a_lot_is_written_in_bounded_batches_in_order() -> None:
    many = [note(n) for n in range(450)]
    batches = effect_batches(many)
    assert [len(b) for b in batches] == [200, 200, 50]  # EFFECTS_PER_BATCH
    assert [e for b in batches for e in b] == many  # the order the case decided them


def test_long_texts_split_batches_by_size() -> None:
    big = [note(n, "y" * 60_000) for n in range(7)]  # 420 KB of text
    batches = effect_batches(big)
    assert all(sum(len(e.arg["body"]) for e in b) <= contracts.EFFECT_BATCH_CHARS for b in batches)
    assert sum(len(b) for b in batches) == 7
    assert effect_batches([]) == []


def test_a_batch_refuses_more_effects_than_its_bound() -> None:
    with pytest.raises(ValueError):
        EffectBatch(case_id="case-000001", effects=[note(n) for n in range(201)])
    with pytest.raises(ValueError):
        EffectBatch(case_id="case-000001", effects=[])


def test_each_effect_runs_its_writer_in_order_and_an_unknown_one_is_refused() -> None:
    written: list[str] = []

    def notify(message: Notification) -> None:
        written.append(message.key)

    def unused(message: Notification) -> None:
        raise AssertionError("only notifications in this batch")

    writers = {name: unused for name in contracts.BATCHED_EFFECTS} | {contracts.NOTIFY: notify}
    effects = EffectActivities(writers)
    batch = EffectBatch(
        case_id="case-000001",
        effects=[
            Effect(
                activity=contracts.NOTIFY,
                arg={
                    "key": f"k{n}",
                    "case_id": "case-000001",
                    "recipient_kind": "contact",
                    "recipient_id": "acme-alice",
                    "subject": "s",
                    "body": "b",
                    "at": "2026-11-28T07:00:00Z",
                },
            )
            for n in range(3)
        ],
    )
    assert asyncio.run(effects.apply_effects(batch)) == 3
    assert written == ["k0", "k1", "k2"]

    unknown = EffectBatch(case_id="case-000001", effects=[Effect(activity="drop_tables", arg={})])
    with pytest.raises(ApplicationError, match="no such side effect 'drop_tables'") as refused:
        asyncio.run(effects.apply_effects(unknown))
    assert refused.value.non_retryable


def test_every_batched_effect_needs_a_writer() -> None:
    with pytest.raises(ValueError, match="no writer for batched effects"):
        EffectActivities({contracts.NOTIFY: lambda arg: None})
