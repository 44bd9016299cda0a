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
import tempfile
import time
import uuid
from typing import Any

from bench_tools import binary, percentile  # beside this script
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from casework import search_attributes
from casework.client import open_case
from casework.codec import data_converter
from casework.domain.actions import ActionResult
from casework.domain.models import Channel, OpenCaseRequest, Priority
from casework.domain.sla import DEFAULT_POLICY
from casework.engine import load_directory
from casework.identity.interceptors import PrincipalHeaders, acting
from casework.identity.keyring import fresh_ring
from casework.identity.principal import Principal
from casework.settings import DEMO_DIRECTORY
from casework.store import Store
from worker import activities_for, build_worker


async def start(server: str, converter: DataConverter) -> WorkflowEnvironment:
    """The server; its client encrypts as a deployment does (casework.codec)."""
    if server == "dev":
        return await WorkflowEnvironment.start_local(
            data_converter=converter,
            dev_server_existing_path=binary("temporal"),
            search_attributes=search_attributes.ALL,
        )
    return await WorkflowEnvironment.start_time_skipping(
        data_converter=converter,
        test_server_existing_path=binary("temporal-test-server"),
    )


def report(name: str, samples: list[float]) -> None:
    ms = [s * 1000 for s in samples]
    print(
        f"{name:<8} n={len(ms):<5} p50 {percentile(ms, 50):7.1f} ms   "
        f"p95 {percentile(ms, 95):7.1f} ms   max {max(ms):7.1f} ms   "
        f"mean {statistics.fmean(ms):7.1f} ms"
    )


async def run(count: int, concurrency: int, server: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ring = fresh_ring()
        store = Store(f"sqlite:///{tmp}/casework.db", ring)
        store.directory.replace(load_directory(DEMO_DIRECTORY))
        env = await start(server, data_converter(ring, store.realms.lookup))
        async with env:
            config = env.client.config()  # the door's client: actions signed for who acts
            config["interceptors"] = [PrincipalHeaders(ring)]
            client = Client(**config)
            task_queue = f"bench-{uuid.uuid4().hex[:8]}"
            options: dict[str, Any] = {"index_search_attributes": server == "dev"}
            limit = asyncio.Semaphore(concurrency)
            opened: list[float] = []
            updated: list[float] = []
            closed: list[float] = []

            async def open_one(n: int) -> str:
                request = OpenCaseRequest(
                    request_id=f"bench-{n}-{uuid.uuid4().hex[:6]}",
                    channel=Channel.WEB,
                    account_id="acme",
                    contact_id="acme-alice",
                    product="FortiGate",
                    version="7.4.3",
                    priority=Priority.P3,
                    description=f"benchmark case {n}",
                )
                async with limit:
                    t0 = time.perf_counter()
                    result = await open_case(
                        client, request, task_queue=task_queue, case_options=options
                    )
                    opened.append(time.perf_counter() - t0)
                    assert result.case_id, "acme is not a PAR account: it is never referred"
                    return result.case_id

            async def act(case_id: str, action: str, payload: Any, into: list[float]) -> None:
                async with limit:
                    t0 = time.perf_counter()
                    with acting(Principal(id=payload["actor"], via="api-key")):
                        await client.get_workflow_handle(case_id).execute_update(
                            action, payload, result_type=ActionResult
                        )
                    into.append(time.perf_counter() - t0)

            worker = build_worker(
                env.client,
                task_queue=task_queue,
                activities=activities_for(store, DEFAULT_POLICY),
                ring=ring,
            )
            async with worker:
                started = time.perf_counter()
                case_ids = await asyncio.gather(*(open_one(n) for n in range(count)))
                open_seconds = time.perf_counter() - started
                comment = {"actor": "acme-alice", "text": "any news?"}
                await asyncio.gather(*(act(c, "comment", comment, updated) for c in case_ids))
                close = {"actor": "acme-alice"}
                await asyncio.gather(*(act(c, "close", close, closed) for c in case_ids))
                elapsed = time.perf_counter() - started
        store.dispose()

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
    asyncio.run(run(args.count, args.concurrency, args.server))
