"""NotificationRelay: delivers the outbox (issue 14), durably, one per task queue.

Input `RelayState`; signal `wake` (sent, with signal-with-start, by every activity that queues
an outbox row, by `casework outbox retry` and by a worker as it starts). Each round runs the
`deliver_due` activity, which sends the rows that are due and records attempts, delivered-at
or the dead-letter state. Between rounds it waits for a `wake`, the next retry's due time or
POLL, whichever comes first (the poll covers a lost signal). It continues as new every
`RelayState.rounds_per_run` rounds (500), or sooner when the server suggests it; it never
ends on its own. A start whose input does not decode fails at once with the reason
(workflows/inputs.py), so the next `wake` starts a relay that works; a signal of any other name
is dropped with a log line (the SDK would keep it in memory for the rest of the run).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy

with workflow.unsafe.imports_passed_through():
    from casework.notify.contracts import (
        DELIVER_DUE,
        RELAY_WORKFLOW,
        WAKE,
        DeliveryReport,
        DeliveryRound,
        RelayState,
    )

from workflows.inputs import NO_INPUT, start_input

POLL = timedelta(seconds=30)
DELIVERY_TIMEOUT = timedelta(minutes=5)
DELIVERY_HEARTBEAT = timedelta(seconds=10)
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
"""The activity is retried until it runs (a worker killed mid-round: the next one redelivers
what was not recorded, under the same keys)."""


@workflow.defn(name=RELAY_WORKFLOW)
class NotificationRelay:
    def __init__(self) -> None:
        self.woken = False

    @workflow.signal(name=WAKE)
    def wake(self) -> None:
        self.woken = True

    @workflow.signal(dynamic=True)
    def stray(self, name: str, args: Sequence[RawValue]) -> None:
        workflow.logger.warning("relay: dropped a signal named %.64r: it has only %s", name, WAKE)

    @workflow.run
    async def run(self, input: RawValue = NO_INPUT) -> None:
        state = start_input(input, RelayState)
        rounds = 0
        while True:
            self.woken = False  # a wake during the round asks for another one
            report = await workflow.execute_activity(
                DELIVER_DUE,
                DeliveryRound(),
                result_type=DeliveryReport,
                start_to_close_timeout=DELIVERY_TIMEOUT,
                heartbeat_timeout=DELIVERY_HEARTBEAT,
                retry_policy=DELIVERY_RETRY,
            )
            rounds += 1
            if rounds >= state.rounds_per_run or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    state.model_copy(update={"rounds_before": state.rounds_before + rounds})
                )
            if report.full:
                continue
            wait = POLL
            if report.next_due_at is not None:
                wait = min(wait, report.next_due_at - workflow.now())
                if wait <= timedelta(0):
                    continue
            try:
                await workflow.wait_condition(lambda: self.woken, timeout=wait)
            except TimeoutError:
                pass
