"""Does `casework simulate` always end, and always with the same right answer, on a busy
machine? Runs the same simulation N times (P at a time, optionally beside K processes that burn
a core each), as a user runs it, and counts:

- hung: did not end within --limit seconds (it is then killed with its servers); the run's own
  watchdog (--stall) should have stopped it first, with exit 3 and the reason;
- stopped: ended with exit 3 (it went wrong or stalled, and said so);
- wrong: ended with exit 0 but its JSON differs from the first run's (the same seed must give
  the same bytes), or, for the textbook queue, a case's wait differs from the FIFO M/M/c
  recursion on the same draws.

    python benchmarks/simulate_repeat.py --runs 10 --parallel 2 --burn 2            # textbook
    python benchmarks/simulate_repeat.py --runs 3 --week --burn 2                     # the week

Prints each run (exit, wall seconds, load average) and the counts; exits 1 if any run hung or
was wrong.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.simulate import load as week_load  # noqa: E402
from benchmarks.simulate import organisation  # noqa: E402
from casework.domain.models import Level  # noqa: E402
from casework.simulation.plan import arrivals_for_day, service_time  # noqa: E402
from casework.simulation.run import roster_of  # noqa: E402
from casework.simulation.textbook import (  # noqa: E402
    textbook_directory,
    textbook_load,
    textbook_policy,
)
from casework.simulation.textbook_check import fifo_waits  # noqa: E402
from casework.yamlfiles import dump_text  # noqa: E402

ENTRY = "import sys; from casework.cli import app; sys.argv[0] = 'casework'; app()"


def burn() -> None:
    while True:
        pass


def files(folder: Path, week: bool, rate: float, servers: int) -> list[str]:
    if week:
        data = {"roster.yaml": organisation(), "load.yaml": week_load(200.0)}
    else:
        data = {
            "roster.yaml": textbook_directory(servers).model_dump(mode="json", exclude_none=True),
            "load.yaml": textbook_load(rate, 1.0).model_dump(mode="json", exclude_none=True),
            "policy.yaml": textbook_policy().model_dump(mode="json", exclude_none=True),
        }
    for name, content in data.items():
        (folder / name).write_text(dump_text(content))
    options = ["--directory", str(folder / "roster.yaml"), "--load", str(folder / "load.yaml")]
    if not week:
        options += ["--policy", str(folder / "policy.yaml")]
    return options


def run_once(args: list[str], limit: float) -> tuple[str, int | None, float, str, str]:
    began = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", ENTRY, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        time.sleep(5)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = process.communicate()
        return "hung", None, time.monotonic() - began, out, err
    status = "ok" if process.returncode == 0 else "stopped"
    return status, process.returncode, time.monotonic() - began, out, err


def fifo_agrees(answer: dict, rate: float, servers: int, days: int) -> bool:
    run = answer["rosters"][0]["runs"][0]
    start, seed = datetime.fromisoformat(run["start"]), run["seed"]
    load, directory = textbook_load(rate, 1.0), textbook_directory(servers)
    arrivals = [
        a for d in range(days) for a in arrivals_for_day(load, roster_of(directory), seed, d, start)
    ]
    hours = [(a.at - start) / timedelta(minutes=1) for a in arrivals]
    services = [
        service_time(load, seed, f"case-{n:06d}", Level.L1, 0) / timedelta(minutes=1)
        for n in range(1, len(arrivals) + 1)
    ]
    expected = [round(w) for w in fifo_waits(hours, services, servers)]
    cases = sorted(run["cases"], key=lambda c: c["case_id"])
    seen = [
        round(
            (datetime.fromisoformat(c["first_response"]) - datetime.fromisoformat(c["opened_at"]))
            / timedelta(minutes=1)
        )
        for c in cases
        if c["first_response"]
    ]
    return seen == expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--burn", type=int, default=0, help="processes burning a core each")
    parser.add_argument("--week", action="store_true", help="the 50-engineer week")
    parser.add_argument("--rate", type=float, default=1.5, help="textbook: cases an hour")
    parser.add_argument("--servers", type=int, default=3, help="textbook: engineers")
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--limit", type=float, default=900.0, help="seconds before 'hung'")
    parser.add_argument("--stall", type=int, default=120)
    options = parser.parse_args()
    days = 7 if options.week else options.days
    folder = Path(tempfile.mkdtemp(prefix="casework-repeat-"))
    args = [
        "simulate", *files(folder, options.week, options.rate, options.servers),
        "--days", str(days), "--seed", str(options.seed), "--output", "json", "--cases",
        "--stall", str(options.stall), "--jobs", "1",
    ]  # fmt: skip
    burners = [multiprocessing.Process(target=burn, daemon=True) for _ in range(options.burn)]
    for b in burners:
        b.start()
    loads: list[float] = []
    reference: str | None = None
    counts = {"ok": 0, "stopped": 0, "hung": 0, "wrong": 0}
    walls = []
    try:
        with ThreadPoolExecutor(options.parallel) as pool:
            futures = [pool.submit(run_once, args, options.limit) for _ in range(options.runs)]
            for n, future in enumerate(futures, start=1):
                status, code, wall, out, err = future.result()
                loads.append(os.getloadavg()[0])
                verdict = status
                (folder / f"run-{n}.json").write_text(out)
                if status == "ok":
                    digest = hashlib.sha256(out.encode()).hexdigest()[:12]
                    reference = reference or out
                    same = out == reference
                    right = options.week or fifo_agrees(
                        json.loads(out), options.rate, options.servers, days
                    )
                    verdict = "ok" if same and right else "wrong"
                    walls.append(wall)
                else:
                    digest = "-"
                counts[verdict] += 1
                notes = [line for line in err.splitlines() if line.startswith("note:")]
                reason = f" {err.strip().splitlines()[-3:]}" if status != "ok" else ""
                reason += " (slow: acts late)" if notes else ""
                print(
                    f"run {n:3d}: {verdict:7s} exit {code} wall {wall:6.1f} s sha {digest} "
                    f"load {loads[-1]:.1f}{reason}",
                    flush=True,
                )
    finally:
        for b in burners:
            b.terminate()
    print(f"outputs: {folder}")
    print(
        f"{options.runs} runs ({'the week' if options.week else 'textbook'}, {options.parallel} "
        f"at a time, {options.burn} burners, {os.cpu_count()} cores): {counts}; wall "
        f"min/median/max {min(walls or [0]):.0f}/{statistics.median(walls or [0]):.0f}/"
        f"{max(walls or [0]):.0f} s; load average {min(loads):.1f} to {max(loads):.1f}"
    )
    sys.exit(1 if counts["hung"] or counts["wrong"] else 0)


if __name__ == "__main__":
    main()
