"""Telling the relay that the outbox has news: signal-with-start of the relay workflow, so a
new row is sent within a round trip instead of at the relay's next poll, and the relay runs
wherever a worker queues rows. Called from activity threads. At most one signal is on its way
at a time (a workflow signalled by many at once answers "Workflow is busy"): wakes that come
meanwhile are folded into one more signal, sent after it, so every row written before a wake is
seen by a round that starts after a signal.

A wake names the lanes its rows go out on (issue 30), so only those lanes run a round: the
relay's other lanes each cost a round trip through the server and a query for nothing. A wake
that names none (a worker starting, `casework outbox retry`) wakes every lane; folded wakes
name the union of their lanes.

Delivered where it was written (issue 30): a worker that runs the relay's activity sends a new
row's lanes itself, at once, in this process (`deliver_here`), instead of signalling the relay:
a signal cost the server a workflow task, an activity and another task for every row, and about
half the CPU of a case's lifecycle went to that. Each lane runs one round at a time here; wakes
that come meanwhile bring one more round, `GATHER` after it. The relay workflow stays the
backstop: a round here that fails, leaves a delivery to retry or fills its batch signals the
relay's lane, whose timers retry and whose poll finds what a killed worker left; claims on
deliveries (casework.store.deliveries) keep a round here and a relay round from sending one
twice."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable

from temporalio.client import Client

from casework.notify.contracts import (
    LANES,
    RELAY_WORKFLOW,
    WAKE,
    DeliveryReport,
    RelayState,
    relay_id,
)

log = logging.getLogger(__name__)
TRIES = 5
"""Tries of one signal (a busy workflow, a server hiccup) before leaving it to the poll."""
GATHER = 0.25
"""Seconds a lane waits between rounds here while wakes keep coming, so that the rows of a
busy moment go in one round: each round plans, claims, looks its recipients up and records
on its own (at 20 lifecycles in flight, 0.25 s instead of 0.05 s saved the worker 12 to 25 ms
of CPU a lifecycle). The first round after a quiet spell starts at once."""


class RelayWaker:
    def __init__(self, client: Client, task_queue: str, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.task_queue = task_queue
        self.loop = loop
        self._lock = threading.Lock()
        self._in_flight = False
        self._again = False
        self._lanes: set[str] | None = set()
        """The lanes of the next signal; None: every lane."""
        self._round_here: Callable[[str], Awaitable[DeliveryReport]] | None = None
        self._idle_here: Callable[[str], Awaitable[None]] | None = None
        self._here: dict[str, bool] = {}
        """Lanes with a round running here (on the loop): True when a wake came during it."""
        self._tasks: set[asyncio.Task[None]] = set()

    def deliver_here(
        self,
        round_here: Callable[[str], Awaitable[DeliveryReport]],
        idle_here: Callable[[str], Awaitable[None]],
    ) -> None:
        """Send woken lanes in this process with `round_here` (RelayActivities.round_here);
        `idle_here` once a lane's rounds stop coming (its connections are closed)."""
        self._round_here, self._idle_here = round_here, idle_here

    def wake(self, lanes: Iterable[str] | None = None) -> None:
        """From any thread: `lanes` (None: every lane) have new rows. Sent here when this
        process delivers (`deliver_here`), else a signal waking them leaves after this call."""
        named = None if lanes is None else [lane for lane in lanes if lane in LANES]
        if self._round_here is not None and named:
            for lane in named:
                self.loop.call_soon_threadsafe(self._wake_here, lane)
            return
        self._wake_relay(lanes)

    def _wake_here(self, lane: str) -> None:
        """On the loop: a round of `lane` here, or one more after the one running."""
        if lane in self._here:
            self._here[lane] = True
            return
        self._here[lane] = False
        task = self.loop.create_task(self._rounds_here(lane))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _rounds_here(self, lane: str) -> None:
        assert self._round_here is not None
        try:
            while True:
                self._here[lane] = False
                try:
                    report = await self._round_here(lane)
                except Exception as e:  # the relay's round will: it retries until it runs
                    log.warning("a delivery round of %s here failed; the relay's will: %s", lane, e)
                    self._wake_relay([lane])
                    return
                for other in report.planned:  # planned onto a lane no wake named
                    if other != lane:
                        self._wake_here(other)
                if report.retrying or report.full:
                    self._wake_relay([lane])  # its timer retries; a full batch: more due now
                if not self._here[lane]:
                    return
                await asyncio.sleep(GATHER)  # busy: what comes meanwhile joins the next round
        finally:
            del self._here[lane]
            if self._idle_here is not None:
                await self._idle_here(lane)

    def _wake_relay(self, lanes: Iterable[str] | None = None) -> None:
        """From any thread: a signal waking `lanes` (None: every lane) leaves after this call."""
        with self._lock:
            if lanes is None or self._lanes is None:
                self._lanes = None
            else:
                self._lanes.update(lanes)
            if self._in_flight:
                self._again = True
                return
            self._in_flight = True
        asyncio.run_coroutine_threadsafe(self._signals(), self.loop)

    async def wake_now(self, *, quiet: bool = True) -> None:
        """From the caller's loop (a worker starting, `casework outbox retry`): start the relay
        or wake it. `quiet`: a failure is logged, not raised."""
        try:
            await self._signal()
        except Exception as e:
            if not quiet:
                raise
            log.warning("could not wake the notification relay: %s", e)

    async def _signals(self) -> None:
        while True:
            with self._lock:
                self._again = False
                lanes, self._lanes = self._lanes, set()
            for attempt in range(1, TRIES + 1):
                try:
                    await self._signal(lanes)
                    break
                except Exception as e:  # the poll sends it anyway; say why the signal failed
                    if attempt == TRIES:
                        log.warning("could not wake the notification relay: %s", e)
                    else:
                        await asyncio.sleep(0.1 * attempt)
            with self._lock:
                if not self._again:
                    self._in_flight = False
                    return

    async def _signal(self, lanes: set[str] | None = None) -> None:
        await self.client.start_workflow(
            RELAY_WORKFLOW,
            RelayState(),
            id=relay_id(self.task_queue),
            task_queue=self.task_queue,
            start_signal=WAKE,
            start_signal_args=[sorted(lanes)] if lanes else [],
        )
