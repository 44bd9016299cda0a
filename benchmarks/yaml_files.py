"""How long reading a directory file takes, by its size: the demo directory plus N engineers,
read and validated as the engine does at start and `casework directory load` does
(`casework.engine.load_directory`). Prints one row per size: bytes, best and median seconds.

    python benchmarks/yaml_files.py                 # 0, 1,000 and 5,000 extra engineers
    python benchmarks/yaml_files.py -n 100 -n 2000 --repeat 3

It writes the files itself and touches nothing else; it runs on any casework that has
`casework.engine.load_directory` (so the same script measures an older checkout too).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from casework.engine import load_directory  # noqa: E402
from casework.settings import DEMO_DIRECTORY  # noqa: E402

ENGINEER = (
    "  - {{id: bench-{n}, name: Bench Engineer {n}, level: L{level}, "
    "skills: [FortiGate, FortiAnalyzer, security], email: bench{n}@vendor.example}}\n"
)


def directory_text(extra: int) -> str:
    """The demo directory with `extra` engineers added to its `engineers` list."""
    demo = DEMO_DIRECTORY.read_text(encoding="utf-8")
    head, marker, tail = demo.partition("engineers:\n")
    added = "".join(ENGINEER.format(n=n, level=n % 4) for n in range(extra))
    return head + marker + added + tail


def timed(path: Path, repeat: int) -> list[float]:
    took = []
    for _ in range(repeat):
        start = time.perf_counter()
        directory = load_directory(path)
        took.append(time.perf_counter() - start)
    assert directory.engineers, "the directory read back without engineers"
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, action="append", help="engineers to add (repeat it)")
    parser.add_argument("--repeat", type=int, default=5, help="reads per size (default 5)")
    args = parser.parse_args()
    sizes = args.n or [0, 1000, 5000]
    print(f"{'engineers added':>16} {'bytes':>10} {'best s':>8} {'median s':>9}")
    with tempfile.TemporaryDirectory(prefix="casework-bench-yaml-") as folder:
        for extra in sizes:
            path = Path(folder) / f"directory-{extra}.yaml"
            path.write_text(directory_text(extra), encoding="utf-8")
            took = timed(path, max(1, args.repeat))
            size = path.stat().st_size
            print(f"{extra:>16,} {size:>10,} {min(took):>8.3f} {statistics.median(took):>9.3f}")


if __name__ == "__main__":
    main()
