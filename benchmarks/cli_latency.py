"""How long `casework` commands take to answer, against a running engine (issue 11: at most
0.4 s each, median of 10 runs).

    python benchmarks/cli_latency.py            # starts its own `casework up` in a temp folder
    python benchmarks/cli_latency.py --runs 20

Prints, per command, the median, the 90th percentile and the slowest of its runs (wall time of
the whole process, as an operator waits for it), and whether the median is within the target.
Where the time goes: `python -X importtime -c "from casework.cli import app; app(['show','1'])"`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_engines import running_engine  # noqa: E402
from bench_tools import binary  # noqa: E402

TARGET = 0.4
CASEWORK = binary("casework")


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([CASEWORK, *args], env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"casework {' '.join(args)} failed: {done.stderr or done.stdout}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    if not 1 <= runs <= 1_000:
        parser.error("--runs from 1 to 1000")
    with running_engine() as engine:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "TEMPORAL_"))}
        env = {
            **base,
            "CASEWORK_STATE_DIR": str(engine.state),
            "TEMPORAL_ADDRESS": engine.temporal,
            "CASEWORK_PROFILE": "acme-alice",
        }
        opened = subprocess.run(
            [CASEWORK, "open", "--product", "FortiGate", "--version", "7.4.3"]
            + ["--priority", "P3", "--description", "benchmark case"],
            env=env,
            capture_output=True,
            text=True,
        )
        case = opened.stdout.split()[0]
        time.sleep(1.0)  # routed to its engineer
        commands = {
            "--help": ["--help"],
            "show": ["show", case],
            "list": ["list"],
            "open": ["open", "--product", "FortiGate", "--version", "7.4.3"]
            + ["--priority", "P3", "--description", "another"],
            "comment": ["comment", case, "--text", "any news?"],
            "change-priority": [
                "change-priority",
                case,
                "--priority",
                "{priority}",
                "--reason",
                "b",
            ],
            "whoami": ["whoami"],
        }
        print(f"{'command':<16} {'median':>7} {'p90':>7} {'max':>7}  within {TARGET} s")
        for name, args in commands.items():
            times = sorted(  # change-priority alternates P2 and P3: the same again is refused
                timed([a.format(priority=("P2", "P3")[i % 2]) for a in args], env)
                for i in range(runs)
            )
            median = statistics.median(times)
            p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
            verdict = "yes" if median <= TARGET else "NO"
            print(f"{name:<16} {median:>7.3f} {p90:>7.3f} {times[-1]:>7.3f}  {verdict}")


if __name__ == "__main__":
    main()
