"""Telling the relay that the outbox has news: signal-with-start of the relay workflow, so a
new row is sent within a round trip instead of at the relay's next poll, and the relay runs
wherever a worker queues rows. Called from activity threads. At most one signal is on its way
at a time (a workflow signalled by many at once answers "Workflow is busy"): wakes that come
meanwhile are folded into one more signal, sent after it, so every row written before a wake is
seen by a round that starts after a signal.

A wake names the lanes its rows go out on (issue 30), so only those lanes run a round: the
relay's other lanes each cost a round trip through the server and a query for nothing. A wake
that names none (a worker starting, `casework outbox retry`) wakes every lane; folded wakes
name the union of their lanes."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable

from temporalio.client import Client

from casework.notify.contracts import RELAY_WORKFLOW, WAKE, RelayState, relay_id

log = logging.getLogger(__name__)
TRIES = 5
"""Tries of one signal (a busy workflow, a server hiccup) before leaving it to the poll."""


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

    def wake(self, lanes: Iterable[str] | None = None) -> None:
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
