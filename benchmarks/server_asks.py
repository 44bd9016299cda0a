"""What the Temporal server is asked for one lifecycle (issue 30): casework through the door of
`casework api` against the bare workflow with local activities, on one dev server, counted from
the server's own metrics.

    python benchmarks/server_asks.py                       # SQLite dev server, 20 lifecycles each
    python benchmarks/server_asks.py --server memory -n 50

A lifecycle is the one of door_lifecycle.py: Alice opens (`POST /v1/cases`), the engineer
responds and resolves, Alice closes; the bare one opens by update-with-start, responds,
resolves and closes, each one local activity. One lifecycle at a time, after a few to warm up;
the counters are read a few seconds after the last one, so the server's deferred work (the
visibility store, the timer and transfer queues) is counted with the lifecycles that caused it.

Printed per side, divided by the lifecycles: the requests each service of the server answered
(`service_requests`: the frontend's are what clients and workers asked, the history and
matching services' what that cost inside), the persistence operations (each
`UpdateWorkflowExecution` is a write of a workflow's state) and the visibility store's. No
wall-clock figures: this counts work, which the machine's load does not change.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import urllib.request
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio.client import Client

sys.path.insert(0, str(Path(__file__).parent))
from bench_engines import bare_worker, running_deployment  # noqa: E402
from bench_tools import bare_local_lifecycle, free_port  # noqa: E402
from door_lifecycle import Door, Figures  # noqa: E402

KINDS = {
    "service_requests": "requests a service answered",
    "persistence_requests": "persistence operations",
    "visibility_persistence_requests": "visibility store operations",
}
SETTLE = 3.0
"""Seconds to wait after the last lifecycle before the counters are read."""
WARM_UP = 3
_SAMPLE = re.compile(r"^(\w+)\{(.*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')

Key = tuple[str, str, str]
"""(metric, service, operation)"""


def counters(port: int) -> Counter[Key]:
    """Every request counter of the dev server, by metric, service and operation."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    found: Counter[Key] = Counter()
    for line in text.splitlines():
        sample = _SAMPLE.match(line)
        if sample is None or sample.group(1) not in KINDS:
            continue
        labels = dict(_LABEL.findall(sample.group(2)))
        key = (sample.group(1), labels.get("service_name", ""), labels.get("operation", ""))
        found[key] += float(sample.group(3))
    return found


async def per_lifecycle(
    port: int, count: int, one: Callable[[int], Awaitable[Any]]
) -> dict[Key, float]:
    for n in range(WARM_UP):
        await one(-1 - n)
    await asyncio.sleep(SETTLE)
    before = counters(port)
    for n in range(count):
        await one(n)
    await asyncio.sleep(SETTLE)
    after = counters(port)
    return {key: (after[key] - before[key]) / count for key in after if after[key] > before[key]}


def report(sides: dict[str, dict[Key, float]]) -> None:
    names = list(sides)
    for kind, title in KINDS.items():
        keys = sorted({k for side in sides.values() for k in side if k[0] == kind})
        totals = [sum(v for k, v in side.items() if k[0] == kind) for side in sides.values()]
        print(f"\n### {title} a lifecycle ({kind})\n")
        print(f"| service | operation | {' | '.join(names)} |")
        print(f"|---|---|{'---|' * len(names)}")
        rows = sorted(keys, key=lambda k: -max(side.get(k, 0.0) for side in sides.values()))
        for key in rows:
            values = [sides[name].get(key, 0.0) for name in names]
            if max(values) < 0.05:
                continue
            shown = " | ".join(f"{v:.1f}" for v in values)
            print(f"| {key[1] or '-'} | {key[2]} | {shown} |")
        print(f"| all | | {' | '.join(f'**{t:.1f}**' for t in totals)} |")


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    async with running_deployment(args.server, metrics_port=port) as engine:
        door = Door(engine, 1)
        figures = Figures()
        try:
            casework = await per_lifecycle(port, args.n, lambda n: door.lifecycle(n, figures))
        finally:
            await door.aclose()
        client = await Client.connect(engine.temporal)
        queue = f"bare-{uuid.uuid4().hex[:8]}"

        async def untimed(_: str, work: Awaitable[Any]) -> Any:
            return await work

        with tempfile.TemporaryDirectory(prefix="casework-bench-bare-") as folder:
            async with bare_worker(client, queue, Path(folder)):
                bare = await per_lifecycle(
                    port, args.n, lambda _: bare_local_lifecycle(client, queue, untimed)
                )
    print(f"## What the {args.server} dev server is asked a lifecycle ({args.n} of each)")
    report({"bare-local": bare, "casework": casework})


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=("memory", "sqlite"), default="sqlite")
    parser.add_argument("-n", type=int, default=20, help="lifecycles of each side")
    args = parser.parse_args()
    if args.n < 1:
        parser.error("-n must be at least 1")
    return args


if __name__ == "__main__":
    asyncio.run(main(arguments()))
