"""The worker's memory with many cases open, and whether the newest case answers as fast as
the first (issue 12).

    python benchmarks/open_cases_memory.py                        # 1,000, 5,000, 10,000 open
    python benchmarks/open_cases_memory.py --marks 500 2000 -c 40

Opens Gold P3 cases (first-response target hours away, so every case holds an armed timer)
on the in-memory dev server, `-c` at a time, as the door opens them (`worker.opener`). At each
mark it prints the worker process's resident memory and times an action (a comment by the
customer, as the door sends it: signed, encrypted) on the first case opened and on the newest,
10 times each, p50. A case evicted
from the worker's cache (CASEWORK_WORKFLOW_CACHE, default in worker.py) is replayed from its
history on its next action: that is what the first case's time shows once the cache is full.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
import uuid
from pathlib import Path

from temporalio.client import Client

sys.path.insert(0, str(Path(__file__).parent))
from bench_engines import local_engine  # noqa: E402
from bench_tools import acme_request, act, rss_mb  # noqa: E402

from casework.client import open_case  # noqa: E402
from worker import opener  # noqa: E402


async def action_p50(door: Client, case_id: str, times: int = 10) -> float:
    handle = door.get_workflow_handle(case_id)
    samples = []
    for n in range(times):
        started = time.perf_counter()
        await act(handle, "comment", "acme-alice", {"text": f"still down ({n})"})
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


async def main(marks: list[int], concurrency: int) -> None:
    async with local_engine("memory") as engine:
        door = engine.door()
        queue = f"memory-{uuid.uuid4().hex[:8]}"
        idle = rss_mb()
        activities = engine.activities()
        worker = engine.worker(queue, activities)
        intake = opener(door, activities, queue)  # as the door opens: one workflow start
        print(f"worker cache: {worker.config().get('max_cached_workflows')} cases")
        async with worker:
            limit = asyncio.Semaphore(concurrency)
            opened: list[str] = []

            async def open_one(n: int) -> None:
                request = acme_request(n, "memory", f"case {n} of many")
                async with limit:
                    result = await open_case(door, request, task_queue=queue, opener=intake)
                assert result.case_id
                opened.append(result.case_id)

            started = time.monotonic()
            first_ms = None
            for mark in sorted(marks):
                await asyncio.gather(*(open_one(n) for n in range(len(opened), mark)))
                await asyncio.sleep(2)  # the last openings' side effects land
                gc.collect()
                first = await action_p50(door, opened[0])
                newest = await action_p50(door, opened[-1])
                first_ms = first_ms or first
                print(
                    f"{mark:>6} open: worker {rss_mb():5.0f} MB (idle {idle:.0f} MB); "
                    f"a comment p50 on the first case {first:4.0f} ms, on the newest "
                    f"{newest:4.0f} ms; {time.monotonic() - started:5.0f} s so far",
                    flush=True,
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--marks", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("-c", "--concurrency", type=int, default=40)
    args = parser.parse_args()
    if not all(1 <= m <= 100_000 for m in args.marks) or not 1 <= args.concurrency <= 1_000:
        parser.error("--marks from 1 to 100000 each, -c from 1 to 1000")
    asyncio.run(main(args.marks, args.concurrency))
