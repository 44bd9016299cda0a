"""A workflow task's share of signals: a flood is taken over several tasks, never in one (E4).

The SDK fails a workflow task that runs for more than 2 seconds of wall time (its deadlock
detector), and a worker never recovers a run it declared deadlocked: the run's eviction never
ends, its slot stays taken and the worker cannot shut down. A task runs every handler its
signals start until all of them wait, so a flood of signals landing in one task (the Web UI's
`act` form, the `temporal` CLI, a script, a stranger) made that task as long as the flood: about
0.6 ms a short comment on an idle machine (3,000 took 1.7 s), several times that on a busy one
(300 of the longest comments overran it beside a second test run, and the case was stuck).

So every signal to one of casework's workflows passes `SignalBudget` first, before its
credential is checked or its payload read: at most `SIGNALS_A_TASK` signals, and at most
`SIGNAL_BYTES_A_TASK` bytes of their payloads, start in one workflow task (the first of a task
always starts, however large: a signal's size is bounded where it is sent). The others wait in
the order they came, for a later task, which a short timer brings. The timer is in the history
and the budget counts signals, never time, so a replay takes the same signals in the same
tasks. Below the budget nothing changes: no timer, no wait.

A signal that waited is judged when it starts: its credential against the case's clock then
(seconds later in a flood; a credential lives 10 minutes), its action against the case as it is
then. Nothing that waits is lost: a case closes, and rolls over, only once every handler is
done (workflows/case/workflow.py). So the line drains at a task's share a timer (about 100
signals a second on the dev server): a case flooded faster than that for minutes on end keeps
a line, and rolls over only once the flood slows (its history grows meanwhile).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.worker import (
    HandleSignalInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

SIGNALS_A_TASK = 100
"""Signals that start in one workflow task: about 60 ms of work on an idle machine, under half
a second at six times slower, against the SDK's 2 s (benchmarks/signal_flood.py)."""
SIGNAL_BYTES_A_TASK = 1_000_000
"""Bytes of signal payload that start in one workflow task: 50 of the longest comments."""
NEXT_TASK_AFTER = timedelta(milliseconds=1)
"""The timer that brings the next task when a task's share is taken (the server fires it as
soon as it can: within a second on the dev server)."""


def payload_bytes(args: Sequence[Any]) -> int:
    """The size of a signal's raw payloads (casework's handlers take them raw; a dynamic
    handler's arrive as its name and a list of them)."""
    size = 0
    for arg in args:
        if isinstance(arg, RawValue):
            size += len(arg.payload.data)
        elif isinstance(arg, (list, tuple)):
            size += payload_bytes(arg)
    return size


class TaskShare:
    """The budget of one workflow run: what the current task let start, and the line of
    signals waiting for the next."""

    def __init__(self) -> None:
        self._line = asyncio.Lock()  # first come, first started: asyncio's lock is fair
        self._task = -1
        self._signals = 0
        self._bytes = 0

    async def admit(self, size: int) -> None:
        """Return once this task may start a signal of `size` bytes; count it."""
        async with self._line:
            while not self._fits(size):
                await workflow.sleep(
                    NEXT_TASK_AFTER, summary="a flood of signals: the rest in the next task"
                )
            self._signals += 1
            self._bytes += size

    def _fits(self, size: int) -> bool:
        # a task is known by the history's length when it began: the same on replay
        task = workflow.info().get_current_history_length()
        if task != self._task:
            self._task, self._signals, self._bytes = task, 0, 0
        if self._signals == 0:
            return True
        return self._signals < SIGNALS_A_TASK and self._bytes + size <= SIGNAL_BYTES_A_TASK


class SignalBudget(Interceptor):
    """Worker interceptor: put it first, so that a waiting signal costs nothing yet."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _Budgeted


class _Budgeted(WorkflowInboundInterceptor):
    def __init__(self, next: WorkflowInboundInterceptor) -> None:
        super().__init__(next)
        self._share = TaskShare()

    async def handle_signal(self, input: HandleSignalInput) -> None:
        await self._share.admit(payload_bytes(input.args))
        await super().handle_signal(input)
