"""The bare workflows the benchmarks compare casework with, in a module of their own so that the
workflow sandbox imports them as it imports the case workflow (bare_worker.py serves them as a
process of its own):

- BareCase: the least a case's lifecycle costs in Temporal (3 updates, 4 no-op activities
  through the task queue; `lifecycle.py`);
- BareLocalCase: the same shape as casework's, at Temporal's own cost (issue 30's fair
  baseline): 4 updates (open by update-with-start, respond, resolve, close), each running one
  local activity that writes a row to SQLite, as each of casework's actions runs one local
  activity writing to its store (`lifecycle.py`, `door_lifecycle.py`);
- BareTimer: a timer and one insert, the least a breach alert costs (`breach_and_memory.py`).
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta

from temporalio import activity, workflow

LOCAL_TIMEOUT = timedelta(seconds=10)
"""One local activity's start-to-close limit (a SQLite write takes milliseconds)."""


@activity.defn(name="bench_noop")
def noop(step: str) -> str:
    return step


@workflow.defn(name="BareCase")
class BareCase:
    """The least a case's lifecycle costs in Temporal: 3 updates, 4 activities."""

    def __init__(self) -> None:
        self.state = "open"

    @workflow.run
    async def run(self) -> str:
        await self._step("open")
        await workflow.wait_condition(lambda: self.state == "closed")
        return self.state

    async def _step(self, step: str) -> None:
        await workflow.execute_activity(noop, step, start_to_close_timeout=timedelta(seconds=30))

    @workflow.update
    async def respond(self, text: str) -> str:
        await self._step("respond")
        return "responded"

    @workflow.update
    async def resolve(self, text: str) -> str:
        await self._step("resolve")
        return "resolved"

    @workflow.update
    async def close(self, text: str) -> str:
        await self._step("close")
        self.state = "closed"
        return "closed"


class BareRows:
    """BareLocalCase's local activity: one row a step in a SQLite file, with the pragmas of
    casework's store (WAL, synchronous=NORMAL), one connection a worker thread. The row is
    keyed by the workflow and the step, so when Temporal discards a workflow task and runs its
    local activity again, the kept attempt's write replaces the discarded one's."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.local = threading.local()
        with sqlite3.connect(database) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS steps "
                "(workflow_id TEXT, step TEXT, at TEXT, PRIMARY KEY (workflow_id, step))"
            )
        conn.close()

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.database)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            self.local.conn = conn
        return conn

    @activity.defn(name="bench_local_row")
    def write(self, step: str) -> None:
        conn = self._connection()
        with conn:
            conn.execute(
                "INSERT OR REPLACE INTO steps VALUES (?, ?, ?)",
                (activity.info().workflow_id, step, datetime.now(UTC).isoformat()),
            )


@workflow.defn(name="BareLocalCase")
class BareLocalCase:
    """Casework's shape at Temporal's own cost: open (sent with the start, one round trip),
    respond, resolve and close are updates, each running one local activity that writes a
    row; the workflow ends once closed."""

    def __init__(self) -> None:
        self.closed = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.closed and workflow.all_handlers_finished())
        return "closed"

    async def _write(self, step: str) -> str:
        await workflow.execute_local_activity_method(
            BareRows.write, step, start_to_close_timeout=LOCAL_TIMEOUT
        )
        return step

    @workflow.update
    async def open(self, text: str) -> str:
        return await self._write("open")

    @workflow.update
    async def respond(self, text: str) -> str:
        return await self._write("respond")

    @workflow.update
    async def resolve(self, text: str) -> str:
        return await self._write("resolve")

    @workflow.update
    async def close(self, text: str) -> str:
        step = await self._write("close")
        self.closed = True
        return step


@activity.defn(name="bench_write_row")
async def write_row(database: str) -> None:
    """One insert: the least a breach alert costs (benchmarks/breach_and_memory.py)."""
    with sqlite3.connect(database) as conn:
        conn.execute(
            "INSERT OR IGNORE INTO alerts VALUES (?, ?)",
            (activity.info().workflow_id, datetime.now(UTC).isoformat()),
        )


@workflow.defn(name="BareTimer")
class BareTimer:
    """A timer until a due time, then one row: the lower bound of a breach alert."""

    @workflow.run
    async def run(self, due: str, database: str) -> None:
        wait = datetime.fromisoformat(due) - workflow.now()
        if wait.total_seconds() > 0:
            await workflow.sleep(wait)
        await workflow.execute_activity(
            write_row, database, start_to_close_timeout=timedelta(seconds=30)
        )
