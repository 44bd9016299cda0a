"""How fast the engine opens cases and answers Case Center actions. Not run by pytest.

Opens N cases (default 200) through the intake workflow, `--concurrency` at a time, against
the real worker and a throw-away SQLite database; then sends one `comment` update to every
case, then closes every case. Prints cases opened per second and p50/p95 latency of opening,
of the update and of the close (an update that ends the workflow).

    python benchmarks/open_cases.py                      # time-skipping test server
    python benchmarks/open_cases.py --server dev -n 500  # the dev server (search attributes on)

The figures are for this machine and SQLite; they compare changes, they do not size a
deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from typing import Any

from bench_engines import local_engine  # beside this script
from bench_tools import acme_request, act, percentile  # beside this script

from casework.client import open_case


def report(name: str, samples: list[float]) -> None:
    ms = [s * 1000 for s in samples]
    print(
        f"{name:<8} n={len(ms):<5} p50 {percentile(ms, 50):7.1f} ms   "
        f"p95 {percentile(ms, 95):7.1f} ms   max {max(ms):7.1f} ms   "
        f"mean {statistics.fmean(ms):7.1f} ms"
    )


async def run(count: int, concurrency: int, server: str) -> None:
    async with local_engine("memory" if server == "dev" else "test") as engine:
        client = engine.door()  # the door's client: actions signed for who acts
        task_queue = f"bench-{uuid.uuid4().hex[:8]}"
        options: dict[str, Any] = {"index_search_attributes": server == "dev"}
        limit = asyncio.Semaphore(concurrency)
        opened: list[float] = []
        updated: list[float] = []
        closed: list[float] = []

        async def open_one(n: int) -> str:
            request = acme_request(n)
            async with limit:
                t0 = time.perf_counter()
                result = await open_case(
                    client, request, task_queue=task_queue, case_options=options
                )
                opened.append(time.perf_counter() - t0)
                assert result.case_id, "acme is not a PAR account: it is never referred"
                return result.case_id

        async def act_on(case_id: str, action: str, payload: Any, into: list[float]) -> None:
            async with limit:
                t0 = time.perf_counter()
                handle = client.get_workflow_handle(case_id)
                await act(handle, action, payload["actor"], payload)
                into.append(time.perf_counter() - t0)

        async with engine.worker(task_queue):
            started = time.perf_counter()
            case_ids = await asyncio.gather(*(open_one(n) for n in range(count)))
            open_seconds = time.perf_counter() - started
            comment = {"actor": "acme-alice", "text": "any news?"}
            await asyncio.gather(*(act_on(c, "comment", comment, updated) for c in case_ids))
            close = {"actor": "acme-alice"}
            await asyncio.gather(*(act_on(c, "close", close, closed) for c in case_ids))
            elapsed = time.perf_counter() - started

    print(f"server: {server}, {count} cases, {concurrency} at a time, {elapsed:.1f} s in all")
    print(f"open     {count / open_seconds:7.1f} cases/s ({open_seconds:.1f} s for {count})")
    report("open", opened)
    report("comment", updated)
    report("close", closed)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=200)
    parser.add_argument("-c", "--concurrency", type=int, default=20)
    parser.add_argument("--server", choices=["test", "dev"], default="test")
    args = parser.parse_args()
    if not 1 <= args.count <= 100_000 or not 1 <= args.concurrency <= 1_000:
        parser.error("-n from 1 to 100000, -c from 1 to 1000")
    asyncio.run(run(args.count, args.concurrency, args.server))
