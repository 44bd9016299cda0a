"""A case's lifecycle against Temporal's own speed (issue 12): the bare workflow and casework,
side by side on one server, with the same client concurrency and worker settings, interleaved
(bare, casework, bare, casework, ...), so both see the same machine.

    python benchmarks/lifecycle.py                       # in-memory dev server, 3 rounds
    python benchmarks/lifecycle.py --server sqlite       # the dev server on a SQLite file
    python benchmarks/lifecycle.py -n 100 -c 20 --rounds 5

- bare: a workflow that runs a no-op activity when it starts and one per update, with three
  updates (respond, resolve, close): 3 updates and 4 activities, the least Temporal does for
  such a lifecycle.
- casework: open, the owner's first response, the owner's resolution and the customer's
  close, each as casework sends it (payloads encrypted, actions signed for who acts), against
  the real worker and a throw-away SQLite database. The open is the door's beside the worker
  (`casework up`: the worker's intake in this process, no intake workflow); `--open intake`
  opens through the Intake workflow instead, as `casework open` and `casework api` do.

Prints per round and as medians: lifecycles per second for both, casework's ratio to bare,
and p50/p95 per action. Figures compare changes on this machine; they do not size a
deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from casework import search_attributes
from casework.client import open_case
from casework.codec import data_converter
from casework.domain.actions import ActionResult
from casework.domain.models import CaseView, Channel, OpenCaseRequest, Priority
from casework.domain.sla import DEFAULT_POLICY
from casework.engine import load_directory
from casework.identity.interceptors import PrincipalHeaders, acting
from casework.identity.keyring import fresh_ring
from casework.identity.principal import Principal
from casework.settings import DEMO_DIRECTORY
from casework.store import Store
from worker import ACTIVITY_THREADS, activities_for, build_worker, opener

sys.path.insert(0, str(Path(__file__).parent))  # the bare workflow, sandboxed like a case
from bare_case import BareCase, noop  # noqa: E402
from bench_tools import binary, cpu_seconds, percentile  # noqa: E402

ACTIONS = ("open", "respond", "resolve", "close")


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
    with tempfile.TemporaryDirectory() as tmp:
        ring = fresh_ring()
        store = Store(f"sqlite:///{tmp}/casework.db", ring)
        store.directory.replace(load_directory(DEMO_DIRECTORY))
        extra = ["--db-filename", f"{tmp}/temporal.db"] if server == "sqlite" else []
        env = await WorkflowEnvironment.start_local(
            data_converter=data_converter(ring, store.realms.lookup),
            dev_server_existing_path=binary("temporal"),
            search_attributes=search_attributes.ALL,
            dev_server_extra_args=extra,
        )
        async with env:
            config = env.client.config()
            config["interceptors"] = [PrincipalHeaders(ring)]
            door = Client(**config)  # as the door sends: signed for who acts
            queue = f"bench-{uuid.uuid4().hex[:8]}"
            bare_queue = f"bare-{uuid.uuid4().hex[:8]}"

            async def casework_lifecycle(n: int, t: Timings) -> None:
                request = OpenCaseRequest(
                    request_id=f"bench-{uuid.uuid4().hex}",
                    channel=Channel.WEB,
                    account_id="acme",
                    contact_id="acme-alice",
                    product="FortiGate",
                    version="7.4.3",
                    priority=Priority.P3,
                    description=f"benchmark case {n}",
                )
                opened = await t.timed(
                    "open", open_case(door, request, task_queue=queue, opener=here)
                )
                assert opened.case_id
                handle = door.get_workflow_handle(opened.case_id)
                owner = opened.owner  # routed as it opened (E1), or ask the case:
                while owner is None:  # routed (E1): part of the lifecycle's time
                    view = await handle.query(
                        "view", {"viewer": "acme-alice"}, result_type=CaseView
                    )
                    owner = view.owner.engineer_id if view.owner else None
                    if owner is None:
                        await asyncio.sleep(0.02)
                for action, who, fields in (
                    ("respond", owner, {"text": "looking"}),
                    ("resolve", owner, {"resolution": "fixed"}),
                    ("close", "acme-alice", {"reason": "thanks"}),
                ):
                    with acting(Principal(id=who, via="api-key")):
                        await t.timed(
                            action,
                            handle.execute_update(action, fields, result_type=ActionResult),
                        )

            async def bare_lifecycle(n: int, t: Timings) -> None:
                handle = await t.timed(
                    "open",
                    env.client.start_workflow(
                        BareCase.run, id=f"bare-{uuid.uuid4().hex}", task_queue=bare_queue
                    ),
                )
                for action in ("respond", "resolve", "close"):
                    await t.timed(action, handle.execute_update(action, "x", result_type=str))

            results: dict[str, list[tuple[float, Timings]]] = {"bare": [], "casework": []}
            executor = ThreadPoolExecutor(ACTIVITY_THREADS)
            activities = activities_for(store, DEFAULT_POLICY)
            here = opener(env.client, activities, queue) if through == "door" else None
            casework_worker = build_worker(
                env.client,
                task_queue=queue,
                activities=activities,
                ring=ring,
                executor=executor,
                **({} if sandbox else {"workflow_runner": UnsandboxedWorkflowRunner()}),
            )
            bare_worker = Worker(
                env.client,
                task_queue=bare_queue,
                workflows=[BareCase],
                activities=[noop],
                activity_executor=executor,
            )
            async with casework_worker, bare_worker:
                for r in range(rounds):
                    for name, one in (("bare", bare_lifecycle), ("casework", casework_lifecycle)):
                        if only and name != only:
                            continue
                        rate, timings = await run_round(count, concurrency, one)
                        results[name].append((rate, timings))
                        print(
                            f"round {r + 1} {name:<9} {rate:6.2f} lifecycles/s, CPU a lifecycle: "
                            f"worker {timings.cpu_worker * 1000:4.0f} ms, "
                            f"server {timings.cpu_server * 1000:4.0f} ms",
                            flush=True,
                        )
        store.dispose()

    if only:
        return
    bare = statistics.median(rate for rate, _ in results["bare"])
    casework = statistics.median(rate for rate, _ in results["casework"])
    opened_by = "the door beside the worker" if through == "door" else "the Intake workflow"
    print(
        f"\nserver: {server}, {count} lifecycles a round, {concurrency} in flight, {rounds} rounds,"
        f" opened through {opened_by}"
    )
    print(f"bare      {bare:6.2f} lifecycles/s (median of rounds)")
    print(
        f"casework  {casework:6.2f} lifecycles/s (median of rounds), {casework / bare:.2f} of bare"
    )
    for name in ("bare", "casework"):
        worker = statistics.median(t.cpu_worker for _, t in results[name]) * 1000
        server_cpu = statistics.median(t.cpu_server for _, t in results[name]) * 1000
        print(f"{name:<9} CPU a lifecycle: worker {worker:4.0f} ms, server {server_cpu:4.0f} ms")
    for name in ("bare", "casework"):
        for action in ACTIONS:
            samples = [s for _, t in results[name] for s in t.by_action[action]]
            print(
                f"{name:<9} {action:<8} p50 {pct(samples, 50):7.1f} ms  "
                f"p95 {pct(samples, 95):7.1f} ms"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=60, help="lifecycles a round")
    parser.add_argument("-c", "--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", choices=["memory", "sqlite"], default="memory")
    parser.add_argument(
        "--only", choices=["bare", "casework"], default="", help="one side (to profile it)"
    )
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
