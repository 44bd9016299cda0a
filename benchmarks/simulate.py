"""How fast `casework simulate` runs a week of a 50-engineer organisation at 200 cases a day
(issue 29: at most 3 minutes on an idle 2-core machine), and where the time goes.

    python benchmarks/simulate.py --days 1      # one day (about 200 cases); the week is 7x that
    python benchmarks/simulate.py --days 7      # the whole week, each case to its resolution

The organisation (built here, written to a temporary folder so the same files can be given to
`casework simulate`): three products, ten accounts (five Platinum, five Gold), 50 engineers in
three 8-hour shifts (12 L0, 20 L1, 12 L2, 6 L3), a rota of three Escalation Managers; the load:
200 cases a day, busier in office hours, P1/P2/P3 10/30/60%, service 15m/45m/90m/3h by level,
escalation 40/25/10% from L0/L1/L2, 3% Escalate Now after 2 hours. Prints the wall time, the
cases and actions per second, the machine's load average (it is shared) and the figure
extrapolated to seven days, and the CPU seconds spent by this process (the casework worker, the
crowd and its client) and by the time-skipping server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from casework.domain.sla import DEFAULT_POLICY  # noqa: E402
from casework.engine import load_directory  # noqa: E402
from casework.simulation.actors import Progress  # noqa: E402
from casework.simulation.load import check_against, read_load  # noqa: E402
from casework.simulation.run import RunSpec, simulate  # noqa: E402
from casework.yamlfiles import dump_text

PRODUCTS = ["FortiGate", "FortiAnalyzer", "FortiManager"]
SHIFTS = [("00:00", "08:00"), ("08:00", "16:00"), ("16:00", "00:00")]
STAFF = {"L0": 12, "L1": 20, "L2": 12, "L3": 6}


def organisation() -> dict:
    accounts = []
    for n in range(10):
        tier = "PLATINUM" if n < 5 else "GOLD"
        accounts.append(
            {
                "id": f"acct-{n}",
                "name": f"Account {n}",
                "tier": tier,
                "users": 600 if tier == "PLATINUM" else 100,
                "contacts": [{"id": f"acct-{n}-c{k}", "name": f"Contact {k}"} for k in (1, 2)],
            }
        )
    engineers = []
    for level, count in STAFF.items():
        for n in range(count):
            start, end = SHIFTS[n % 3]
            engineers.append(
                {
                    "id": f"{level.lower()}-{n:02d}",
                    "name": f"{level} engineer {n}",
                    "level": level,
                    "skills": [*PRODUCTS, "security"],
                    "shift": {"zone": "UTC", "start": start, "end": end},
                }
            )
    return {
        "products": PRODUCTS,
        "accounts": accounts,
        "engineers": engineers,
        "escalation_managers": [{"id": f"em-{n}", "name": f"Manager {n}"} for n in range(3)],
    }


def load(per_day: float) -> dict:
    arrivals = []
    for tier in ("PLATINUM", "GOLD"):
        for priority, share in (("P1", 0.1), ("P2", 0.3), ("P3", 0.6)):
            for product in PRODUCTS:
                rate = per_day * share / 2 / len(PRODUCTS) / 24
                arrivals.append(
                    {
                        "tier": tier,
                        "priority": priority,
                        "product": product,
                        "channel": "web" if priority != "P1" else "phone",
                        # twice as busy in office hours (10 of 24 hours), the day's total kept
                        "per_hour": {
                            "mon-sun 08-18": round(rate * 24 / (10 * 2 + 14) * 2, 4),
                            "default": round(rate * 24 / (10 * 2 + 14), 4),
                        },
                    }
                )
    return {
        "arrivals": arrivals,
        "service": {
            "L0": {"distribution": "exponential", "mean": "15m"},
            "L1": {"distribution": "lognormal", "mean": "45m", "sigma": 0.8},
            "L2": {"distribution": "lognormal", "mean": "90m", "sigma": 0.8},
            "L3": {"distribution": "exponential", "mean": "3h"},
        },
        "escalation": {"L0": 0.4, "L1": 0.25, "L2": 0.1},
        "escalate_now": {"probability": 0.03, "after": "2h"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--per-day", type=float, default=200.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write the roster and load files here")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="casework-bench-sim-"))
    folder.mkdir(parents=True, exist_ok=True)
    roster_file, load_file = folder / "roster.yaml", folder / "load.yaml"
    roster_file.write_text(dump_text(organisation()))
    load_file.write_text(dump_text(load(args.per_day)))
    directory = load_directory(roster_file)
    the_load, text = read_load(load_file)
    check_against(the_load, text, str(load_file), directory)
    progress = Progress()
    before = os.getloadavg()
    started = time.perf_counter()
    result = asyncio.run(
        simulate(RunSpec(directory, DEFAULT_POLICY, the_load, args.days, args.seed), progress)
    )
    took = time.perf_counter() - started
    after = os.getloadavg()
    total = result.figures.first_response[-1]
    cases = total.cases
    print(f"files: {roster_file} {load_file}")
    print(
        f"{args.days} day(s), {len(directory.engineers)} engineers, {cases} cases opened "
        f"({result.tally.escalated} escalations, {result.tally.escalate_now} Escalate Now, "
        f"{total.judged - total.within_target} breaches, {result.tally.refused} refused acts)"
    )
    print(
        f"wall {took:.1f} s: {cases / took:.2f} cases/s, {progress.actions / took:.1f} crowd "
        f"acts/s; a week at this pace: {took * 7 / args.days / 60:.1f} min"
    )
    python = resource.getrusage(resource.RUSAGE_SELF)
    server = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"CPU: this process (worker, crowd, client) {python.ru_utime + python.ru_stime:.1f} s, "
        f"the time-skipping server {server.ru_utime + server.ru_stime:.1f} s"
    )
    print(
        f"machine: {os.cpu_count()} cores, load average {before[0]:.1f} before, "
        f"{after[0]:.1f} after (shared)"
    )


if __name__ == "__main__":
    main()
