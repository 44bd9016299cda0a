"""A case's lifecycle through the door's HTTP API against the bare workflow with local activities
(issue 30), side by side in one run, at 1, 5, 20 and 50 lifecycles in flight.

    python benchmarks/door_lifecycle.py                      # every path, 1 5 20 50 in flight
    python benchmarks/door_lifecycle.py --path up --in-flight 1 20 --cases 40
    python benchmarks/door_lifecycle.py --path api-memory api-sqlite --rounds 3 --json out.json
    python benchmarks/door_lifecycle.py --path api-sqlite --in-flight 20 --workers 2 --doors 2

Paths (`--path`, default all three):
- up: the door that `casework up` runs beside its worker (it opens a case with the worker's
  intake in its own process, no Intake workflow); `casework up`'s dev server is on a SQLite file;
- api-memory, api-sqlite: `casework api` as a process of its own with a `casework worker`
  process, as a deployment runs them (the door opens with its own intake under the policy the
  worker published, one workflow start: `worker.published_opener`), on a dev server in memory
  or on a SQLite file (bench_engines.running_deployment); `--workers N` and `--doors N` run
  N worker processes on the task queue and N door processes, each lifecycle through one door
  (dealt in turn), to see what a second process of each adds or costs on this machine.

casework: Alice opens a case (`POST /v1/cases`, her API key), the engineer the answer names
responds and resolves (`POST /v1/cases/{case}/actions/...`, their key), Alice closes it. Each
request carries an Idempotency-Key; a 429 or a 503 is sent again with the same key after its
Retry-After, as the API asks of a client (counted as resends; the time waited counts).
bare-local: the bare workflow with local activities (bare_case.BareLocalCase) on the same
server, its worker a process of its own (bare_worker.py), driven by a Temporal client of this
process: open (update-with-start), respond, resolve, close, each one local activity writing a
row to SQLite. Temporal's own cost for casework's shape: the fair baseline.

On each path, a few lifecycles of each side warm up first (each worker's sandbox imports its
workflows once); then for each number in flight the bare side runs `--cases` lifecycles, then
casework does (again for each of `--rounds`: rates are medians, times pooled), so both see the
same machine. Printed as Markdown tables, per path: lifecycles per second, casework's ratio to
bare-local, CPU a lifecycle across all the processes of the run (this client, the server, the
workers, the door), resends; then per action (and the whole lifecycle) p50 / p95 for both and
the ratio of the p50s; and the machine's load average at the start and the end. The machine
is shared: compare ratios from one run, not figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

sys.path.insert(0, str(Path(__file__).parent))
from bench_engines import Engine, bare_worker, running_deployment, running_engine  # noqa: E402
from bench_tools import (  # noqa: E402
    bare_local_lifecycle,
    closing_steps,
    load_average,
    percentile,
    tree_cpu_by_role,
)

PATHS = {
    "up": "the door `casework up` runs beside its worker (its dev server on a SQLite file)",
    "api-memory": "`casework api` and `casework worker`, processes of their own, dev server "
    "in memory",
    "api-sqlite": "`casework api` and `casework worker`, processes of their own, dev server "
    "on a SQLite file",
}
SIDES = ("bare-local", "casework")
ACTIONS = ("open", "respond", "resolve", "close", "lifecycle")
WARM_UP = 5
"""Lifecycles of each side before timing on a path."""
RESENDS = 30
"""How often one request is sent again after a 429 or a 503 before the run gives up."""
ROUTED_WITHIN = 60.0
"""Seconds a case may take to name its engineer (E1) when the open's answer did not."""


@dataclass
class Figures:
    """One side at one number in flight, over the rounds."""

    rates: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    """CPU seconds a lifecycle, all processes of the run."""
    by_role: list[dict[str, float]] = field(default_factory=list)
    """CPU seconds a lifecycle by process role (bench_tools.tree_cpu_by_role), each round."""
    times: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in ACTIONS})
    resends: int = 0

    async def timed(self, action: str, work: Awaitable[Any]) -> Any:
        started = time.perf_counter()
        result = await work
        self.times[action].append(time.perf_counter() - started)
        return result

    def p(self, action: str, q: float) -> float:
        """The action's q-th percentile, in milliseconds."""
        return percentile(self.times[action], q) * 1000

    def role_ms(self) -> dict[str, int]:
        """Median CPU milliseconds a lifecycle by process role, roles that used any."""
        roles = sorted({role for r in self.by_role for role in r})
        medians = {
            role: statistics.median([r.get(role, 0.0) for r in self.by_role]) for role in roles
        }
        return {role: round(ms * 1000) for role, ms in medians.items() if ms >= 0.0005}

    def summary(self) -> dict[str, Any]:
        return {
            "lifecycles_per_second": round(statistics.median(self.rates), 2),
            "cpu_ms_a_lifecycle": round(statistics.median(self.cpu) * 1000),
            "resends": self.resends,
            "cpu_ms_a_lifecycle_by_role": self.role_ms(),
            **{f"{a}_ms": [round(self.p(a, 50), 1), round(self.p(a, 95), 1)] for a in ACTIONS},
        }


class Door:
    """An HTTP client of the door holding every person's API key."""

    def __init__(self, engine: Engine, in_flight: int) -> None:
        self.keys = engine.keys
        connections = in_flight + 5
        self.doors = [
            httpx.AsyncClient(
                base_url=url,
                timeout=120,
                limits=httpx.Limits(
                    max_connections=connections, max_keepalive_connections=connections
                ),
            )
            for url in engine.urls
        ]

    async def aclose(self) -> None:
        for http in self.doors:
            await http.aclose()

    async def post(
        self, http: httpx.AsyncClient, path: str, who: str, body: dict[str, str], figures: Figures
    ) -> Any:
        """`body` to `path` as `who`, once (an Idempotency-Key), waiting out a busy case."""
        headers = {
            "Authorization": f"Bearer {self.keys[who]}",
            "Idempotency-Key": uuid.uuid4().hex,
        }
        for _ in range(RESENDS + 1):
            answer = await http.post(path, json=body, headers=headers)
            if answer.is_success:
                return answer.json()
            if answer.status_code not in (429, 503):
                raise SystemExit(f"POST {path} as {who}: {answer.status_code} {answer.text[:500]}")
            figures.resends += 1
            try:
                wait = float(answer.headers.get("Retry-After", "1"))
            except ValueError:
                wait = 1.0
            await asyncio.sleep(min(max(wait, 0.05), 10.0))
        raise SystemExit(f"POST {path} as {who}: still busy after {RESENDS} resends")

    async def owner_of(self, http: httpx.AsyncClient, case: str) -> str:
        """The engineer the case went to (E1), asking the door as Alice until it says."""
        deadline = time.monotonic() + ROUTED_WITHIN
        headers = {"Authorization": f"Bearer {self.keys['acme-alice']}"}
        while time.monotonic() < deadline:
            answer = await http.get(f"/v1/cases/{case}", headers=headers)
            answer.raise_for_status()
            owner = answer.json().get("owner") or {}
            if owner.get("engineer_id"):
                return str(owner["engineer_id"])
            await asyncio.sleep(0.05)
        raise SystemExit(f"{case} named no engineer within {ROUTED_WITHIN:.0f} s")

    async def lifecycle(self, n: int, figures: Figures) -> None:
        """Lifecycle `n`, through door `n` modulo the doors (each lifecycle through one)."""
        http = self.doors[n % len(self.doors)]
        started = time.perf_counter()
        body = {
            "product": "FortiGate",
            "version": "7.4.3",
            "priority": "P3",
            "description": f"benchmark case {n}",
        }
        opened = await figures.timed(
            "open", self.post(http, "/v1/cases", "acme-alice", body, figures)
        )
        case = opened["case_id"]
        owner = opened.get("owner") or await self.owner_of(http, case)
        for action, who, fields in closing_steps(owner):
            path = f"/v1/cases/{case}/actions/{action}"
            await figures.timed(action, self.post(http, path, who, fields, figures))
        figures.times["lifecycle"].append(time.perf_counter() - started)


async def one_round(
    count: int, in_flight: int, one: Callable[[int, Figures], Awaitable[None]], figures: Figures
) -> None:
    limit = asyncio.Semaphore(in_flight)

    async def bounded(n: int) -> None:
        async with limit:
            await one(n, figures)

    cpu = tree_cpu_by_role()
    started = time.perf_counter()
    await asyncio.gather(*(bounded(n) for n in range(count)))
    figures.rates.append(count / (time.perf_counter() - started))
    used = {role: (s - cpu.get(role, 0.0)) / count for role, s in tree_cpu_by_role().items()}
    figures.by_role.append(used)
    figures.cpu.append(sum(used.values()))


@contextlib.asynccontextmanager
async def engine_for(path: str, workers: int, doors: int) -> AsyncIterator[Engine]:
    if path == "up":
        if (workers, doors) != (1, 1):
            raise SystemExit(
                "casework up is one worker and one door: --workers and --doors "
                "are for the api-memory and api-sqlite paths"
            )
        with running_engine() as engine:
            yield engine
    else:
        server = path.removeprefix("api-")
        async with running_deployment(server, workers=workers, doors=doors) as engine:
            yield engine


async def measure_path(
    path: str, levels: list[int], count: int, rounds: int, workers: int = 1, doors: int = 1
) -> dict[int, dict[str, Figures]]:
    results = {level: {side: Figures() for side in SIDES} for level in levels}
    async with engine_for(path, workers, doors) as engine:
        client = await Client.connect(engine.temporal)
        queue = f"bare-{uuid.uuid4().hex[:8]}"
        with tempfile.TemporaryDirectory(prefix="casework-bench-bare-") as folder:
            async with bare_worker(client, queue, Path(folder)):

                async def bare(n: int, figures: Figures) -> None:
                    started = time.perf_counter()
                    await bare_local_lifecycle(client, queue, figures.timed)
                    figures.times["lifecycle"].append(time.perf_counter() - started)

                doors = {level: Door(engine, level) for level in levels}
                sides = {"bare-local": lambda _: bare, "casework": lambda lv: doors[lv].lifecycle}
                for side in SIDES:  # warm up: not counted
                    await one_round(WARM_UP, 1, sides[side](levels[0]), Figures())
                for r in range(rounds):
                    for level in levels:
                        for side in SIDES:
                            figures = results[level][side]
                            await one_round(count, level, sides[side](level), figures)
                            print(
                                f"{path} round {r + 1}, {level:>3} in flight: {side:<10} "
                                f"{figures.rates[-1]:6.2f} lifecycles/s, CPU a lifecycle "
                                f"{figures.cpu[-1] * 1000:5.0f} ms (load {load_average()})",
                                flush=True,
                            )
                for door in doors.values():
                    await door.aclose()
    return results


def report(
    path: str,
    results: dict[int, dict[str, Figures]],
    count: int,
    rounds: int,
    workers: int = 1,
    doors: int = 1,
) -> None:
    processes = f" ({workers} worker process(es), {doors} door process(es))" if path != "up" else ""
    print(f"\n## {path}: {PATHS[path]}{processes}\n")
    print(f"{count} lifecycles a size and side, {rounds} round(s)\n")
    print(
        "| in flight | bare-local lifecycles/s | casework | ratio | CPU a lifecycle, all "
        "processes: bare-local / casework | casework resends (429/503) |"
    )
    print("|---|---|---|---|---|---|")
    for level, sides in results.items():
        bare, case = sides["bare-local"], sides["casework"]
        rate_bare, rate_case = statistics.median(bare.rates), statistics.median(case.rates)
        print(
            f"| {level} | {rate_bare:.2f} | {rate_case:.2f} | {rate_case / rate_bare:.2f} | "
            f"{statistics.median(bare.cpu) * 1000:.0f} / "
            f"{statistics.median(case.cpu) * 1000:.0f} ms | {case.resends} |"
        )
    print("\n| in flight | side | CPU a lifecycle by process |\n|---|---|---|")
    for level, sides in results.items():
        for side, figures in sides.items():
            split = ", ".join(f"{role} {ms}" for role, ms in figures.role_ms().items())
            print(f"| {level} | {side} | {split} (ms) |")
    print(
        "\n| in flight | action | bare-local p50 / p95 | casework p50 / p95 | "
        "p50 casework / bare-local |"
    )
    print("|---|---|---|---|---|")
    for level, sides in results.items():
        bare, case = sides["bare-local"], sides["casework"]
        for action in ACTIONS:
            print(
                f"| {level} | {action} | {bare.p(action, 50):.0f} / {bare.p(action, 95):.0f} ms "
                f"| {case.p(action, 50):.0f} / {case.p(action, 95):.0f} ms | "
                f"{case.p(action, 50) / bare.p(action, 50):.1f}x |"
            )


async def main(args: argparse.Namespace) -> None:
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print(
            "note: PYTHONDONTWRITEBYTECODE is set (and passed on to the engine's processes), so "
            "the workflow sandbox compiles the case's modules from source for every new case: "
            "unset it for figures a deployment would see",
            flush=True,
        )
    at_start = load_average()
    print(f"load average at the start: {at_start}", flush=True)
    everything: dict[str, Any] = {"load_at_start": at_start, "paths": {}}
    for path in args.path:
        results = await measure_path(
            path, args.in_flight, args.cases, args.rounds, args.workers, args.doors
        )
        report(path, results, args.cases, args.rounds, args.workers, args.doors)
        everything["paths"][path] = {
            str(level): {side: figures.summary() for side, figures in sides.items()}
            for level, sides in results.items()
        }
    at_end = load_average()
    everything["load_at_end"] = at_end
    print(f"\nload average at the start: {at_start}; at the end: {at_end}")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2) + "\n")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--path", nargs="+", choices=list(PATHS), default=list(PATHS), help="which doors"
    )
    parser.add_argument(
        "--in-flight", type=int, nargs="+", default=[1, 5, 20, 50], help="lifecycles at once"
    )
    parser.add_argument(
        "--cases", type=int, default=100, help="lifecycles a size, side and round (default 100)"
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--workers", type=int, default=1, help="casework worker processes (api-* paths)"
    )
    parser.add_argument(
        "--doors",
        type=int,
        default=1,
        help="casework api processes, lifecycles dealt round them (api-* paths)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not 1 <= args.cases <= 10_000:
        parser.error(f"--cases {args.cases}: from 1 to 10000")
    if not all(1 <= n <= 200 for n in args.in_flight):
        parser.error(f"--in-flight {args.in_flight}: each from 1 to 200")
    if not 1 <= args.rounds <= 20:
        parser.error(f"--rounds {args.rounds}: from 1 to 20")
    if args.json is not None and not args.json.parent.is_dir():
        parser.error(f"--json {args.json}: its folder does not exist; make it first")
    args.path = list(dict.fromkeys(args.path))
    args.in_flight = list(dict.fromkeys(args.in_flight))
    return args


if __name__ == "__main__":
    asyncio.run(main(arguments()))
