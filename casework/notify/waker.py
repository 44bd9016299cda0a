"""Telling the relay that the outbox has news: signal-with-start of the relay workflow, so a
new row is sent within a round trip instead of at the next poll, and the relay runs wherever a
worker queues rows. Called from activity threads; coalesced: while one signal is on its way,
more rows ride on it (it is sent after they were written)."""

from __future__ import annotations

import asyncio
import logging
import threading

from temporalio.client import Client

from casework.notify.contracts import RELAY_WORKFLOW, WAKE, RelayState, relay_id

log = logging.getLogger(__name__)


class RelayWaker:
    def __init__(self, client: Client, task_queue: str, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.task_queue = task_queue
        self.loop = loop
        self._lock = threading.Lock()
        self._pending = False

    def wake(self) -> None:
        """From any thread: make sure a signal leaves after this call."""
        with self._lock:
            if self._pending:
                return
            self._pending = True
        asyncio.run_coroutine_threadsafe(self._signal(), self.loop)

    async def wake_now(self, *, quiet: bool = True) -> None:
        """From the worker's loop (a worker starting): start the relay or wake it. `quiet`:
        a failure is logged, not raised."""
        await self._signal(quiet)

    async def _signal(self, quiet: bool = True) -> None:
        with self._lock:
            self._pending = False  # rows written from now on need another signal
        try:
            await self.client.start_workflow(
                RELAY_WORKFLOW,
                RelayState(),
                id=relay_id(self.task_queue),
                task_queue=self.task_queue,
                start_signal=WAKE,
            )
        except Exception as e:  # the poll delivers it anyway; say why the signal failed
            if not quiet:
                raise
            log.warning("could not wake the notification relay: %s", e)
