"""A case's lifecycle against Temporal's own speed (issues 12 and 30): the bare workflows and
casework, side by side on one server, with the same client concurrency and worker settings,
interleaved (bare, bare-local, casework, bare, ...), so all see the same machine.

    python benchmarks/lifecycle.py                       # in-memory dev server, 3 rounds
    python benchmarks/lifecycle.py --server sqlite       # the dev server on a SQLite file
    python benchmarks/lifecycle.py -n 100 -c 20 --rounds 5

- bare: a workflow that runs a no-op activity when it starts and one per update, with three
  updates (respond, resolve, close): 3 updates and 4 activities, the least Temporal does for
  such a lifecycle.
- bare-local: the same shape as casework's (issue 30's fair baseline, `bare_case.BareLocalCase`):
  four updates (open by update-with-start, respond, resolve, close), each running one local
  activity that writes a row to SQLite, as each of casework's actions runs one local activity
  writing to its store.
- casework: open, the owner's first response, the owner's resolution and the customer's
  close, each as casework sends it (payloads encrypted, actions signed for who acts), against
  the real worker and a throw-away SQLite database. The open is the door's beside the worker
  (`casework up`: the worker's intake in this process, no intake workflow); `--open intake`
  opens through the Intake workflow instead, as `casework open` and `casework api` do.

Prints per round and as medians: lifecycles per second for each, casework's ratio to bare and
to bare-local, and p50/p95 per action. Figures compare changes on this machine; they do not
size a deployment. `door_lifecycle.py` measures the same through the door's HTTP API, with the
worker and the door as processes of their own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from temporalio.worker import UnsandboxedWorkflowRunner, Worker

sys.path.insert(0, str(Path(__file__).parent))  # the bare workflows, sandboxed like a case
from bare_case import BareCase, BareLocalCase, BareRows, noop  # noqa: E402
from bench_engines import local_engine  # noqa: E402
from bench_tools import (  # noqa: E402
    acme_request,
    act,
    bare_local_lifecycle,
    closing_steps,
    cpu_seconds,
    percentile,
    until_routed,
)

from casework.client import open_case  # noqa: E402
from worker import ACTIVITY_THREADS, opener  # noqa: E402

ACTIONS = ("open", "respond", "resolve", "close")
SIDES = ("bare", "bare-local", "casework")


def pct(samples: list[float], p: float) -> float:
    """In milliseconds."""
    return percentile(samples, p) * 1000


class Timings:
    def __init__(self) -> None:
        self.by_action: dict[str, list[float]] = {a: [] for a in ACTIONS}
        self.cpu_worker = 0.0
        """CPU seconds per lifecycle: this process (worker and client)..."""
        self.cpu_server = 0.0
        """...and the Temporal server."""

    async def timed(self, action: str, work: Awaitable[Any]) -> Any:
        started = time.perf_counter()
        result = await work
        self.by_action[action].append(time.perf_counter() - started)
        return result


async def run_round(
    count: int, concurrency: int, one: Callable[[int, Timings], Awaitable[None]]
) -> tuple[float, Timings]:
    timings = Timings()
    limit = asyncio.Semaphore(concurrency)

    async def bounded(n: int) -> None:
        async with limit:
            await one(n, timings)

    started = time.perf_counter()
    own, server = cpu_seconds()
    await asyncio.gather(*(bounded(n) for n in range(count)))
    rate = count / (time.perf_counter() - started)
    own_after, server_after = cpu_seconds()
    timings.cpu_worker = (own_after - own) / count
    timings.cpu_server = (server_after - server) / count
    return rate, timings


async def main(
    count: int,
    concurrency: int,
    rounds: int,
    server: str,
    only: str = "",
    sandbox: bool = True,
    through: str = "door",
) -> None:
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print(
            "note: PYTHONDONTWRITEBYTECODE is set, so the workflow sandbox compiles the case's "
            "modules from source for every new case (about a third of casework's rate here)",
            flush=True,
        )
    async with local_engine(server) as engine:
        door = engine.door()  # as the door sends: signed for who acts
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        bare_queue = f"bare-{uuid.uuid4().hex[:8]}"

        async def casework_lifecycle(n: int, t: Timings) -> None:
            request = acme_request(n)
            opened = await t.timed("open", open_case(door, request, task_queue=queue, opener=here))
            assert opened.case_id
            handle = door.get_workflow_handle(opened.case_id)
            # routed as it opened (E1), or ask the case: part of the lifecycle's time
            owner = opened.owner or await until_routed(handle)
            for action, who, fields in closing_steps(owner):
                await t.timed(action, act(handle, action, who, fields))

        async def bare_lifecycle(n: int, t: Timings) -> None:
            handle = await t.timed(
                "open",
                engine.client.start_workflow(
                    BareCase.run, id=f"bare-{uuid.uuid4().hex}", task_queue=bare_queue
                ),
            )
            for action in ("respond", "resolve", "close"):
                await t.timed(action, handle.execute_update(action, "x", result_type=str))

        lifecycles = {
            "bare": bare_lifecycle,
            "bare-local": lambda n, t: bare_local_lifecycle(engine.client, bare_queue, t.timed),
            "casework": casework_lifecycle,
        }
        results: dict[str, list[tuple[float, Timings]]] = {side: [] for side in SIDES}
        executor = ThreadPoolExecutor(ACTIVITY_THREADS)
        activities = engine.activities()
        here = opener(engine.client, activities, queue) if through == "door" else None
        casework_worker = engine.worker(
            queue,
            activities,
            executor=executor,
            **({} if sandbox else {"workflow_runner": UnsandboxedWorkflowRunner()}),
        )
        rows = BareRows(str(engine.folder / "bare.db"))
        bare_worker = Worker(
            engine.client,
            task_queue=bare_queue,
            workflows=[BareCase, BareLocalCase],
            activities=[noop, rows.write],
            activity_executor=executor,
        )
        async with casework_worker, bare_worker:
            for r in range(rounds):
                for name in SIDES:
                    if only and name != only:
                        continue
                    rate, timings = await run_round(count, concurrency, lifecycles[name])
                    results[name].append((rate, timings))
                    print(
                        f"round {r + 1} {name:<10} {rate:6.2f} lifecycles/s, CPU a lifecycle: "
                        f"worker {timings.cpu_worker * 1000:4.0f} ms, "
                        f"server {timings.cpu_server * 1000:4.0f} ms",
                        flush=True,
                    )

    if only:
        return
    summary(results, server, count, concurrency, rounds, through)


def summary(
    results: dict[str, list[tuple[float, Timings]]],
    server: str,
    count: int,
    concurrency: int,
    rounds: int,
    through: str,
) -> None:
    rate = {side: statistics.median(r for r, _ in results[side]) for side in SIDES}
    opened_by = "the door beside the worker" if through == "door" else "the Intake workflow"
    print(
        f"\nserver: {server}, {count} lifecycles a round, {concurrency} in flight, {rounds} rounds,"
        f" opened through {opened_by}"
    )
    print(f"bare       {rate['bare']:6.2f} lifecycles/s (median of rounds)")
    print(
        f"bare-local {rate['bare-local']:6.2f} lifecycles/s (median of rounds), "
        f"{rate['bare-local'] / rate['bare']:.2f} of bare"
    )
    print(
        f"casework   {rate['casework']:6.2f} lifecycles/s (median of rounds), "
        f"{rate['casework'] / rate['bare']:.2f} of bare, "
        f"{rate['casework'] / rate['bare-local']:.2f} of bare-local"
    )
    for name in SIDES:
        worker = statistics.median(t.cpu_worker for _, t in results[name]) * 1000
        server_cpu = statistics.median(t.cpu_server for _, t in results[name]) * 1000
        print(f"{name:<10} CPU a lifecycle: worker {worker:4.0f} ms, server {server_cpu:4.0f} ms")
    for name in SIDES:
        for action in ACTIONS:
            samples = [s for _, t in results[name] for s in t.by_action[action]]
            print(
                f"{name:<10} {action:<8} p50 {pct(samples, 50):7.1f} ms  "
                f"p95 {pct(samples, 95):7.1f} ms"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=60, help="lifecycles a round")
    parser.add_argument("-c", "--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", choices=["memory", "sqlite"], default="memory")
    parser.add_argument("--only", choices=SIDES, default="", help="one side (to profile it)")
    parser.add_argument(
        "--no-sandbox",
        action="store_true",
        help="casework's workflows without the SDK's sandbox (what the sandbox costs)",
    )
    parser.add_argument(
        "--open",
        choices=["door", "intake"],
        default="door",
        help="door: the worker's intake in this process, as the door of `casework up` opens; "
        "intake: through the Intake workflow, as `casework open` and `casework api` do",
    )
    args = parser.parse_args()
    if not (
        1 <= args.count <= 100_000 and 1 <= args.concurrency <= 1_000 and 1 <= args.rounds <= 100
    ):
        parser.error("-n from 1 to 100000, -c from 1 to 1000, --rounds from 1 to 100")
    asyncio.run(
        main(
            args.count,
            args.concurrency,
            args.rounds,
            args.server,
            args.only,
            not args.no_sandbox,
            args.open,
        )
    )
