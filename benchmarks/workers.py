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
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from temporalio.client import Client  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from casework import search_attributes  # noqa: E402
from casework.client import open_case  # noqa: E402
from casework.codec import data_converter  # noqa: E402
from casework.domain.actions import ActionResult  # noqa: E402
from casework.domain.models import CaseView, Channel, OpenCaseRequest, Priority  # noqa: E402
from casework.engine import load_directory  # noqa: E402
from casework.identity.interceptors import PrincipalHeaders, acting  # noqa: E402
from casework.identity.keyring import fresh_ring  # noqa: E402
from casework.identity.principal import Principal  # noqa: E402
from casework.settings import DEMO_DIRECTORY  # noqa: E402
from casework.store import Store  # noqa: E402
from tests.worker_processes import WorkerProcess, until_polling  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench_tools import binary  # noqa: E402

WARM_UP = 6
"""Lifecycles per round before timing: each worker's sandbox imports the workflows once."""


async def lifecycle(door: Client, queue: str, n: int) -> None:
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
    opened = await open_case(door, request, task_queue=queue)
    assert opened.case_id
    handle = door.get_workflow_handle(opened.case_id)
    owner = None
    while owner is None:  # routed (E1): part of the lifecycle
        view = await handle.query("view", {"viewer": "acme-alice"}, result_type=CaseView)
        owner = view.owner.engineer_id if view.owner else None
        if owner is None:
            await asyncio.sleep(0.02)
    for action, who, fields in (
        ("respond", owner, {"text": "looking"}),
        ("resolve", owner, {"resolution": "fixed"}),
        ("close", "acme-alice", {"reason": "thanks"}),
    ):
        with acting(Principal(id=who, via="api-key")):
            await handle.execute_update(action, fields, result_type=ActionResult)


async def timed(door: Client, queue: str, count: int, concurrency: int) -> float:
    limit = asyncio.Semaphore(concurrency)

    async def bounded(n: int) -> None:
        async with limit:
            await lifecycle(door, queue, n)

    started = time.perf_counter()
    await asyncio.gather(*(bounded(n) for n in range(count)))
    return count / (time.perf_counter() - started)


async def main(count: int, concurrency: int, rounds: int, db: str, counts: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cluster = None
        if db == "postgres":
            from tests.postgres_cluster import PostgresCluster

            cluster = PostgresCluster.start()
            url = cluster.new_database()
        else:
            url = f"sqlite:///{folder / 'casework.db'}"
        ring = fresh_ring()
        keyring = folder / "keyring.json"
        keyring.write_text(ring.to_json())
        store = Store(url, ring)
        store.directory.replace(load_directory(DEMO_DIRECTORY))
        env = await WorkflowEnvironment.start_local(
            data_converter=data_converter(ring, store.realms.lookup),
            dev_server_existing_path=binary("temporal"),
            search_attributes=search_attributes.ALL,
        )
        rates: dict[int, list[float]] = {n: [] for n in counts}
        try:
            async with env:
                config = env.client.config()
                config["interceptors"] = [PrincipalHeaders(ring)]
                door = Client(**config)
                target = env.client.service_client.config.target_host
                for r in range(rounds):
                    for workers in counts:
                        queue = f"bench-{uuid.uuid4().hex[:8]}"
                        fleet = [
                            WorkerProcess.start(
                                f"r{r}-w{i}",
                                folder=folder,
                                temporal=target,
                                task_queue=queue,
                                db_url=url,
                                extra_env={
                                    "CASEWORK_KEYRING_FILE": str(keyring),
                                    "CASEWORK_LOG_FORMAT": "json",
                                },
                            )
                            for i in range(workers)
                        ]
                        try:
                            await until_polling(env.client, queue, fleet)
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
        finally:
            store.dispose()
            if cluster is not None:
                cluster.stop()
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
    counts = [int(w) for w in args.workers.split(",")]
    if args.count < 1 or args.concurrency < 1 or args.rounds < 1 or min(counts) < 1:
        raise SystemExit("-n, -c, --rounds and --workers must be positive")
    asyncio.run(main(args.count, args.concurrency, args.rounds, args.db, counts))
