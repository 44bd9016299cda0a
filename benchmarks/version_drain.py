"""How long an old version takes to drain after a promotion (issue 28). Not run by pytest.

On the dev server (Worker Versioning), two workers of today's code under two build ids share a
task queue. N cases (default 100) open on version 1 and are answered by their engineer (their
first-response timers armed); then version 2's worker starts and `casework.versions.promote`
makes it current and asks every open case to roll over. Prints how long the promotion took
(set current, routing propagated, every case asked) and how long until every case ran on
version 2 and `describe_versions` said version 1 may be shut down.

    python benchmarks/version_drain.py             # 100 cases
    python benchmarks/version_drain.py -n 200

The figures are for this machine, SQLite and one process holding client and both workers;
they compare changes, they do not size a deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

from bench_engines import LocalEngine, local_engine  # beside this script
from bench_tools import acme_request  # beside this script
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion

from casework.client import open_case
from casework.domain.actions import ActionResult
from casework.identity.interceptors import acting
from casework.identity.principal import Principal
from casework.settings import Settings
from casework.versions import describe_versions, promote

V1, V2 = "1.0.0", "2.0.0"


async def build_of(client: Client, case_id: str) -> str:
    described = await client.get_workflow_handle(case_id).describe()
    info = described.raw_description.workflow_execution_info.versioning_info
    return info.deployment_version.build_id


async def run(count: int, concurrency: int) -> None:
    async with local_engine("memory") as engine:
        await _measure(engine, count, concurrency)


async def _measure(engine: LocalEngine, count: int, concurrency: int) -> None:
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        state_dir=engine.folder / "state",
        db_url=engine.database,
        directory_file=None,
        policy_file=None,
        task_queue=f"bench-{tag}",
        deployment_name=f"bench-{tag}",
        build_id=V1,
    )
    env, client = engine.env, engine.door()
    limit = asyncio.Semaphore(concurrency)

    def worker(build: str) -> Any:
        version = WorkerDeploymentVersion(settings.deployment_name, build)
        return engine.worker(settings.task_queue, version=version)

    async def open_one(n: int) -> str:
        async with limit:
            result = await open_case(
                client, acme_request(n, "drain"), task_queue=settings.task_queue
            )
            assert result.case_id
            with acting(Principal(id="acme-bob", via="api-key")):
                await client.get_workflow_handle(result.case_id).execute_update(
                    "comment", {"actor": "acme-bob", "text": "any news?"}, result_type=ActionResult
                )
            return result.case_id

    async with worker(V1):
        await promote(env.client, settings, V1, wait_for_workers=60)
        case_ids = await asyncio.gather(*(open_one(n) for n in range(count)))
        async with worker(V2):
            started = time.perf_counter()
            result = await promote(env.client, settings, V2, wait_for_workers=60)
            promoted = time.perf_counter() - started
            left = set(case_ids)
            while left:
                builds = await asyncio.gather(*(build_of(env.client, c) for c in left))
                left = {c for c, b in zip(left, builds, strict=True) if b != V2}
                await asyncio.sleep(0.2)
            moved = time.perf_counter() - started
            while True:
                rows = {v.name: v for v in await describe_versions(env.client, settings)}
                if rows[V1].may_shut_down:
                    break
                await asyncio.sleep(0.2)
            drained = time.perf_counter() - started
    print(f"{count} open cases on {V1}; promote {V2}: {result.asked} asked to roll over")
    print(f"promote (current, routing propagated, all asked) {promoted:6.1f} s")
    print(f"every case on {V2}                               {moved:6.1f} s")
    print(f"{V1} may be shut down (visibility)               {drained:6.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=100)
    parser.add_argument("-c", "--concurrency", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run(args.count, args.concurrency))
