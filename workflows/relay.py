"""NotificationRelay: delivers the outbox (issue 14), durably, one per task queue.

Input `RelayState`; signal `wake` (sent, with signal-with-start, by every activity that queues
an outbox row, by `casework outbox retry` and by a worker as it starts), with the lanes to wake
(a list of channel names; none, or no payload: every lane). A `wake` whose payload is not a list
of names is dropped by the SDK with a log line; the poll still comes. A start whose input
does not decode fails at once with the reason (workflows/inputs.py), so the next `wake` starts
a relay that works; a signal of any other name is dropped with a log line (the SDK would keep
it in memory for the rest of the run), but `roll_over`.

Versions (issue 28): the relay is PINNED to the build that started its run and moves to the
current version when it continues as new (`AUTO_UPGRADE`). It winds down to continue as new
when asked: by the signal `roll_over` (any payload, not read; `casework versions promote`
sends it), or when the server says its target version changed, seen after a round or at the
latest at the next POLL.

Lanes (issue 27): one loop per channel (email, chat, page, webhook), each
running its own rounds of the `deliver_due` activity for its channel, so that a slow receiver
holds only its own lane: an Escalation Manager's mail and page never wait behind a webhook
(E3, S3). Each round sends what is due on the lane and records each send as it ends. Between
rounds a lane waits for a `wake` naming it, its next retry's due time or POLL, whichever comes
first (the poll covers a lost signal). A wake names the lanes its rows go out on (issue 30: a
round of each of the four lanes for every new row cost the server four activities where one
was needed); a round that planned rows onto another lane wakes that lane too, so a directory
that changed between a row's write and its plan costs no delivery its round.
After `RelayState.rounds_per_run` rounds of all lanes together (500), or sooner when the server
suggests it, the lanes finish their round and the relay continues as new; it never ends on its
own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy, VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from casework.notify.contracts import (
        DELIVER_DUE,
        LANES,
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


ROLL_OVER = "roll_over"
UPGRADE = workflow.ContinueAsNewVersioningBehavior.AUTO_UPGRADE


@workflow.defn(name=RELAY_WORKFLOW, versioning_behavior=VersioningBehavior.PINNED)
class NotificationRelay:
    def __init__(self) -> None:
        self.lanes_woken: dict[str, bool] = {}
        self.rounds = 0
        self.winding_down = False

    @workflow.signal(name=WAKE)
    def wake(self, lanes: list[str] | None = None) -> None:
        """Wake `lanes` (the channels the new rows go out on, as the waker saw them), or
        every lane when it names none, or none the relay has (a waker older than issue 30's
        names none)."""
        named = [lane for lane in lanes or () if lane in self.lanes_woken]
        for lane in named or self.lanes_woken:
            self.lanes_woken[lane] = True

    @workflow.signal(dynamic=True)
    def stray(self, name: str, args: Sequence[RawValue]) -> None:
        """`roll_over` (taken here, where no payload can keep it from the relay), else dropped."""
        if name == ROLL_OVER:
            self.winding_down = True
            return
        workflow.logger.warning(
            "relay: dropped a signal named %.64r: it has only %s and %s", name, WAKE, ROLL_OVER
        )

    def _moving(self) -> bool:
        """Wind down now: asked to (`roll_over`), or the server moved this run's target version."""
        if workflow.info().is_target_worker_deployment_version_changed():
            self.winding_down = True
        return self.winding_down

    @workflow.run
    async def run(self, input: RawValue = NO_INPUT) -> None:
        state = start_input(input, RelayState)
        self.lanes_woken = {lane: False for lane in LANES}
        await asyncio.gather(*(self._lane(lane, state) for lane in LANES))
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            state.model_copy(update={"rounds_before": state.rounds_before + self.rounds}),
            initial_versioning_behavior=UPGRADE,
        )

    async def _lane(self, lane: str, state: RelayState) -> None:
        """One channel's rounds, until the relay winds down to continue as new."""
        while not self._moving():
            self.lanes_woken[lane] = False  # a wake during the round asks for another one
            report = await workflow.execute_activity(
                DELIVER_DUE,
                DeliveryRound(lane=lane),  # type: ignore[arg-type]
                result_type=DeliveryReport,
                start_to_close_timeout=DELIVERY_TIMEOUT,
                heartbeat_timeout=DELIVERY_HEARTBEAT,
                retry_policy=DELIVERY_RETRY,
            )
            self.rounds += 1
            for planned in report.planned:  # planned here, on a lane no wake named
                if planned != lane and planned in self.lanes_woken:
                    self.lanes_woken[planned] = True
            if (
                self.rounds >= state.rounds_per_run
                or workflow.info().is_continue_as_new_suggested()
            ):
                self.winding_down = True
                return
            if report.full:
                continue
            wait = POLL
            if report.next_due_at is not None:
                wait = min(wait, report.next_due_at - workflow.now())
                if wait <= timedelta(0):
                    continue
            try:
                await workflow.wait_condition(
                    lambda: self.lanes_woken[lane] or self._moving(), timeout=wait
                )
            except TimeoutError:
                pass
