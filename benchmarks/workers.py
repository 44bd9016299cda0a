"""Throughput of one, two and three `casework worker` processes on one engine (issue 15), in
the same run: cases per second through a full lifecycle (open, routed, first response,
resolution, the customer's close), each case as the door sends it (encrypted, signed for who
acts).

    python benchmarks/workers.py                     # SQLite database, 40 cases a round
    python benchmarks/workers.py --db postgres       # a throwaway PostgreSQL (Debian package)
    python benchmarks/workers.py -n 100 -c 20 --rounds 3   # longer: more than 3 minutes

One dev server (in memory) and one database for the whole run; each round starts N worker
processes on a fresh task queue, waits until they all poll, warms them up, then times `-n`
lifecycles with `-c` in flight. The rounds go 1, 2, 3, 1, 2, 3, ... so each count sees the
same machine; the medians are printed. The client (this process), the server and the workers
share the machine's cores: on a small machine more workers add processes, not cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

from temporalio.client import Client

sys.path.insert(0, str(Path(__file__).parent))
from bench_engines import local_engine  # noqa: E402
from bench_tools import acme_request, act, closing_steps, until_routed  # noqa: E402

from casework.client import open_case  # noqa: E402
from tests.worker_processes import WorkerProcess, until_polling  # noqa: E402

WARM_UP = 6
"""Lifecycles per round before timing: each worker's sandbox imports the workflows once."""


async def lifecycle(door: Client, queue: str, n: int) -> None:
    opened = await open_case(door, acme_request(n), task_queue=queue)
    assert opened.case_id
    handle = door.get_workflow_handle(opened.case_id)
    owner = await until_routed(handle)  # routed (E1): part of the lifecycle
    for action, who, fields in closing_steps(owner):
        await act(handle, action, who, fields)


async def timed(door: Client, queue: str, count: int, concurrency: int) -> float:
    limit = asyncio.Semaphore(concurrency)

    async def bounded(n: int) -> None:
        async with limit:
            await lifecycle(door, queue, n)

    started = time.perf_counter()
    await asyncio.gather(*(bounded(n) for n in range(count)))
    return count / (time.perf_counter() - started)


async def main(count: int, concurrency: int, rounds: int, db: str, counts: list[int]) -> None:
    rates: dict[int, list[float]] = {n: [] for n in counts}
    async with local_engine("memory", database=db) as engine:
        folder = engine.folder
        keyring = engine.keyring_file()
        door = engine.door()
        for r in range(rounds):
            for workers in counts:
                queue = f"bench-{uuid.uuid4().hex[:8]}"
                fleet = [
                    WorkerProcess.start(
                        f"r{r}-w{i}",
                        folder=folder,
                        temporal=engine.target,
                        task_queue=queue,
                        db_url=engine.database,
                        extra_env={
                            "CASEWORK_KEYRING_FILE": str(keyring),
                            "CASEWORK_LOG_FORMAT": "json",
                        },
                    )
                    for i in range(workers)
                ]
                try:
                    await until_polling(engine.client, queue, fleet)
                    await timed(door, queue, WARM_UP * workers, concurrency)
                    rate = await timed(door, queue, count, concurrency)
                finally:
                    for w in fleet:
                        w.stop()
                rates[workers].append(rate)
                print(
                    f"round {r + 1}: {workers} worker(s) {rate:6.2f} lifecycles/s",
                    flush=True,
                )
    one = statistics.median(rates[counts[0]])
    print(
        f"\ndatabase: {db}, {count} lifecycles a round, {concurrency} in flight, {rounds} rounds, "
        f"{os.cpu_count()} CPUs"
    )
    for workers in counts:
        rate = statistics.median(rates[workers])
        print(
            f"{workers} worker(s): {rate:6.2f} lifecycles/s (median), {rate / one:.2f} of "
            f"{counts[0]}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=40, help="lifecycles a round")
    parser.add_argument("-c", "--concurrency", type=int, default=12, help="lifecycles in flight")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", default="1,2,3", help="worker counts, e.g. 1,2,3")
    args = parser.parse_args()
    try:
        counts = [int(w) for w in args.workers.split(",")]
    except ValueError:
        parser.error(f"--workers {args.workers!r}: worker counts separated by commas, like 1,2,3")
    if not (1 <= args.count <= 100_000 and 1 <= args.concurrency <= 1_000):
        parser.error("-n from 1 to 100000, -c from 1 to 1000")
    if not 1 <= args.rounds <= 100 or not all(1 <= w <= 16 for w in counts):
        parser.error("--rounds from 1 to 100, --workers each from 1 to 16")
    asyncio.run(main(args.count, args.concurrency, args.rounds, args.db, counts))
