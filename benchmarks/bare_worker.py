"""The bare workflows' worker (bare_case.py) as a process of its own, as casework's worker is one
in a deployment, so that a benchmark's client and the bare worker share the machine as the
door's client and casework's worker do. Started by `bench_engines.bare_worker`; by hand:

    python benchmarks/bare_worker.py --address 127.0.0.1:7233 --task-queue bare --database bare.db

Serves until SIGINT or SIGTERM, then stops polling and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

sys.path.insert(0, str(Path(__file__).parent))  # the bare workflows, sandboxed like a case
from bare_case import BareCase, BareLocalCase, BareRows, BareTimer, noop, write_row  # noqa: E402

THREADS = 16
"""The activity threads, as many as casework's worker has (worker.ACTIVITY_THREADS)."""
NAME = re.compile(r"[A-Za-z0-9._:-]{1,200}")


async def serve(address: str, namespace: str, task_queue: str, database: Path) -> None:
    client = await Client.connect(address, namespace=namespace)
    rows = BareRows(str(database))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with ThreadPoolExecutor(THREADS) as executor:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[BareCase, BareLocalCase, BareTimer],
            activities=[noop, write_row, rows.write],
            activity_executor=executor,
        ):
            await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="the Temporal server, host:port")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--database", type=Path, required=True, help="a SQLite file (made)")
    args = parser.parse_args()
    for flag, value in (
        ("--address", args.address),
        ("--namespace", args.namespace),
        ("--task-queue", args.task_queue),
    ):
        if not NAME.fullmatch(value):
            parser.error(f"{flag} {value!r}: 1 to 200 letters, digits and . _ : -")
    if not args.database.parent.is_dir():
        parser.error(f"--database {args.database}: its folder does not exist; make it first")
    asyncio.run(serve(args.address, args.namespace, args.task_queue, args.database))


if __name__ == "__main__":
    main()
