"""How long one workflow task takes to take in a flood of signals (issue 25's flake, E4).

The SDK fails a workflow task that runs over 2 seconds (its deadlock detection), and the task
that follows carries the same signals and more: a flood that makes one task too slow keeps
failing it. So the time of the task that takes N signals at once, against N.

    python benchmarks/signal_flood.py --signals 100 300 1000 3000

For each N: a case opened and settled, its worker stopped, N signed `act` comments signalled
(the Web UI's path), a worker started again: its first task holds all N. The figure is that
task's activation, timed around the SDK's `activate` in this process, idle machine or not
(load average printed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from bench_engines import local_engine  # noqa: E402
from bench_tools import acme_request, load_average  # noqa: E402
from temporalio.worker import _workflow_instance  # noqa: E402

from casework.client import open_case  # noqa: E402
from casework.identity.interceptors import acting  # noqa: E402
from casework.identity.principal import Principal  # noqa: E402
from worker import opener  # noqa: E402

TIMED: list[tuple[int, float]] = []
"""(jobs, seconds) of every activation of a case in this process."""

_activate = _workflow_instance._WorkflowInstanceImpl.activate


def _timed_activate(self: Any, act: Any) -> Any:
    started = time.perf_counter()
    try:
        return _activate(self, act)
    finally:
        if not act.is_replaying:
            TIMED.append((len(act.jobs), time.perf_counter() - started))


_workflow_instance._WorkflowInstanceImpl.activate = _timed_activate  # type: ignore[method-assign]


async def one_flood(signals: int) -> tuple[int, float, int, float]:
    """After `signals` comments land at once: the longest activation (its jobs and seconds),
    how many activations took the flood in, and how long they took from the first one to the
    last (release 0.6.0 takes a task's share of signals, workflows/signal_budget.py)."""
    async with local_engine("memory") as engine:
        queue = f"flood-{uuid.uuid4().hex[:8]}"
        activities = engine.activities()
        door = engine.door()
        async with engine.worker(queue, activities):
            opened = await open_case(
                engine.client,
                acme_request(1, "flood"),
                task_queue=queue,
                opener=opener(engine.client, activities, queue),
            )
            assert opened.case_id
            await asyncio.sleep(1)  # its opening written
        handle = door.get_workflow_handle(opened.case_id)
        with acting(Principal(id="acme-alice", via="api-key")):
            for n in range(signals):
                text = f"comment {n}: " + "x" * 200
                await handle.signal(
                    "act", {"action": "comment", "actor": "acme-alice", "text": text}
                )
        TIMED.clear()
        async with engine.worker(queue, activities):
            deadline = time.monotonic() + 300
            while not any(jobs >= signals for jobs, _ in TIMED) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            started, seen = time.monotonic(), -1
            while len(TIMED) != seen and time.monotonic() < deadline:  # quiet for 3 s: done
                seen = len(TIMED)
                await asyncio.sleep(3)
            taken = time.monotonic() - started - 3
        jobs, longest = max(TIMED, key=lambda t: t[1], default=(0, 0.0))
        return jobs, longest, len(TIMED), taken


async def main(sizes: list[int]) -> None:
    print(f"load average at the start: {load_average()}")
    print(
        "| signals at once | the longest activation | its jobs | activations | "
        "first to last activation |"
    )
    print("|---|---|---|---|---|")
    for size in sizes:
        jobs, seconds, activations, taken = await one_flood(size)
        print(
            f"| {size} | {seconds * 1000:.0f} ms | {jobs} | {activations} | {taken:.1f} s |",
            flush=True,
        )
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, nargs="+", default=[100, 300, 1000])
    asyncio.run(main(parser.parse_args().signals))
