"""Breach alerts on time, and the worker's memory, with many cases open (issue 12).

    python benchmarks/breach_and_memory.py                    # 1,000 cases, SQLite dev server
    python benchmarks/breach_and_memory.py -n 300 --target 120
    python benchmarks/breach_and_memory.py --open-over 120     # opens paced over 120 s
    python benchmarks/breach_and_memory.py --open intake       # through the Intake workflow

Cases open as the door opens them (one workflow start each, issue 30: `worker.opener`);
`--open intake` opens through the Intake workflow, as a client with only Temporal does.

Opening as fast as the engine takes them packs the breaches as densely (1,000 opened in 71 s
is 14 breaches a second at the end); `--open-over` paces the openings, so the breaches
spread as they were opened.

Opens N Gold P1 cases whose first-response target (`--target` seconds, S1/S5) is short, answers
none, and watches the outbox: how late each breach alert (S3/E3) lands after its case's due
time, p50/p95/p99/max. Then the lower bound on the same server: N bare workflows that sleep
until the same kind of due time and write one row (a timer plus one insert). Prints the worker
process's resident memory with the N cases open. Lateness is measured by polling the database
every 50 ms, so figures carry up to 50 ms of that.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

sys.path.insert(0, str(Path(__file__).parent))
from bare_case import BareTimer, write_row  # noqa: E402
from bench_engines import local_engine  # noqa: E402
from bench_tools import outage_request, percentile, rss_mb  # noqa: E402

from casework.client import open_case  # noqa: E402
from casework.domain.sla import policy_with  # noqa: E402
from worker import opener  # noqa: E402

POLL = 0.05


def report(name: str, seen: dict[str, float], count: int, due: dict[str, datetime]) -> None:
    """Lateness percentiles (`seen`: seconds late by key); how densely the alerts came due (a
    burst's breaches over the time from its first due time to its last) and how many a second
    the engine worked off (the alerts landed over the time from the first due time to the
    last alert landed): when the second is below the first, alerts queue and lateness grows
    through the burst, however fast the engine is."""
    if not seen:
        print(f"{name:<9} no alert landed")
        return
    lateness = list(seen.values())
    first, last = min(due.values()), max(due.values())
    span = max((last - first).total_seconds(), 1e-3)
    landed = max((due[key] - first).total_seconds() + late for key, late in seen.items())
    print(
        f"{name:<9} {len(lateness)}/{count} landed; late by "
        + ", ".join(f"p{p} {percentile(lateness, p):.2f} s" for p in (50, 95, 99))
        + f", max {max(lateness):.2f} s; came due {len(due) / span:.1f}/s, "
        f"worked off {len(seen) / max(landed, 1e-3):.1f}/s"
    )


async def watch(
    db: Path, query: str, due: dict[str, datetime], deadline: float
) -> dict[str, float]:
    """Seconds from each due time to when its row was first seen, by key."""
    seen: dict[str, float] = {}
    while len(seen) < len(due) and time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            rows = conn.execute(query).fetchall()
        now = datetime.now(UTC)
        for (key,) in rows:
            if key in due and key not in seen:
                seen[key] = (now - due[key]).total_seconds()
        await asyncio.sleep(POLL)
    return seen


async def main(count: int, target: int, open_over: float = 0.0, how: str = "door") -> None:
    policy = policy_with(every_tier={"P1": f"{target}s", "P2": "3600s", "P3": "7200s"})
    async with local_engine("sqlite") as engine:
        db = engine.db_path
        client: Client = engine.client
        queue = f"breach-{uuid.uuid4().hex[:8]}"
        before = rss_mb()
        activities = engine.activities(policy)
        door = opener(client, activities, queue) if how == "door" else None
        async with engine.worker(queue, activities):
            limit = asyncio.Semaphore(20)

            async def open_one(n: int) -> str:
                await asyncio.sleep(open_over * n / count)
                async with limit:
                    request = outage_request(n, "breach")
                    result = await open_case(client, request, task_queue=queue, opener=door)
                assert result.case_id
                return result.case_id

            started = time.monotonic()
            cases = await asyncio.gather(*(open_one(n) for n in range(count)))
            print(f"opened {count} cases in {time.monotonic() - started:.0f} s", flush=True)
            due: dict[str, datetime] = {}
            while len(due) < count:
                with sqlite3.connect(db) as conn:
                    rows = conn.execute("SELECT case_id, due_at FROM case_facts").fetchall()
                due = {c: datetime.fromisoformat(d).replace(tzinfo=UTC) for c, d in rows}
                await asyncio.sleep(0.2)
            print(
                f"worker memory with {count} cases open: {rss_mb():.0f} MB "
                f"(before: {before:.0f} MB)",
                flush=True,
            )
            last = max(due.values())
            deadline = time.monotonic() + (last - datetime.now(UTC)).total_seconds() + 60
            mine = {c: due[c] for c in cases}
            seen = await watch(
                db,
                "SELECT DISTINCT case_id FROM outbox WHERE recipient_kind = 'escalation_manager'",
                mine,
                deadline,
            )
            report("casework", seen, count, mine)

        bare_queue = f"bare-{uuid.uuid4().hex[:8]}"
        rows_db = engine.folder / "bare.db"
        with sqlite3.connect(rows_db) as conn:
            conn.execute("CREATE TABLE alerts (id TEXT PRIMARY KEY, at TEXT)")
        bare_due: dict[str, datetime] = {}
        async with Worker(
            client, task_queue=bare_queue, workflows=[BareTimer], activities=[write_row]
        ):
            start_at = datetime.now(UTC) + timedelta(seconds=15)
            spread = max(1.0, count / 15)  # due times spread like the cases' openings
            for n in range(count):
                when = start_at + timedelta(seconds=spread * n / count + target / 4)
                workflow_id = f"bare-{n}-{uuid.uuid4().hex[:6]}"
                bare_due[workflow_id] = when
                await client.start_workflow(
                    BareTimer.run,
                    args=[when.isoformat(), str(rows_db)],
                    id=workflow_id,
                    task_queue=bare_queue,
                )
            last = max(bare_due.values())
            deadline = time.monotonic() + (last - datetime.now(UTC)).total_seconds() + 60
            seen = await watch(rows_db, "SELECT id FROM alerts", bare_due, deadline)
            report("bare", seen, count, bare_due)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=1000)
    parser.add_argument("--target", type=int, default=240, help="P1 target, seconds")
    parser.add_argument(
        "--open-over", type=float, default=0.0, help="pace the openings over this many seconds"
    )
    parser.add_argument("--open", choices=["door", "intake"], default="door")
    args = parser.parse_args()
    if not 1 <= args.count <= 100_000 or not 1 <= args.target <= 86_400:
        parser.error("-n from 1 to 100000, --target from 1 to 86400 seconds")
    if not 0 <= args.open_over <= 86_400:
        parser.error("--open-over from 0 to 86400 seconds")
    asyncio.run(main(args.count, args.target, args.open_over, args.open))
