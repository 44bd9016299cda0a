"""The bare workflow of `benchmarks/lifecycle.py`: the least a case's lifecycle costs in Temporal
(3 updates, 4 no-op activities). A module of its own so the workflow sandbox imports it as it
imports the case workflow."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


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


@activity.defn(name="bench_write_row")
async def write_row(database: str) -> None:
    """One insert: the least a breach alert costs (benchmarks/breach_and_memory.py)."""
    import sqlite3
    from datetime import UTC, datetime

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
        from datetime import datetime

        wait = datetime.fromisoformat(due) - workflow.now()
        if wait.total_seconds() > 0:
            await workflow.sleep(wait)
        await workflow.execute_activity(
            write_row, database, start_to_close_timeout=timedelta(seconds=30)
        )
