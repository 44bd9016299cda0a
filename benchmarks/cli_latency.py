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
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.4
CASEWORK = str(Path(sys.executable).with_name("casework"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    state = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    port, ui_port, api_port = free_port(), free_port(), free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "TEMPORAL_"))}
    env = {
        **base,
        "CASEWORK_STATE_DIR": str(state),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
        "CASEWORK_PROFILE": "acme-alice",
    }
    engine = subprocess.Popen(
        [CASEWORK, "up", "--port", str(port), "--ui-port", str(ui_port)]
        + ["--api-port", str(api_port), "--state-dir", str(state)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert engine.stdout is not None
        for line in engine.stdout:
            if "Ctrl+C" in line:
                break
        else:
            raise SystemExit("casework up did not start")
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
    finally:
        engine.send_signal(signal.SIGINT)
        try:
            engine.wait(30)
        except subprocess.TimeoutExpired:
            engine.kill()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
