"""`casework simulate` as a user runs it: a process of its own, in a session of its own, so
that a run that does not end is ended with everything it started (its time-skipping servers
included) and the test fails saying so, whatever pytest-timeout can or cannot interrupt."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from casework.yamlfiles import dump_text
from tests.conftest import TIME_SCALE

ROOT = Path(__file__).parent.parent
DATA = ROOT / "casework" / "data"
DEMO, SAMPLE = DATA / "demo-directory.yaml", DATA / "simulation-load.yaml"
RUN_LIMIT = 240.0 * TIME_SCALE
"""Real seconds a `casework simulate` of the tests may take before it is stopped."""
ENTRY = "import sys; from casework.cli import app; sys.argv[0] = 'casework'; app()"


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.code == 0, self.stderr
        return json.loads(self.stdout)


def casework(*args: str, timeout: float = RUN_LIMIT, module: str | None = None) -> Finished:
    """Run `casework ARGS` (or `python -m MODULE ARGS`) and wait for it, at most `timeout`."""
    command = ["-m", module] if module else ["-c", ENTRY]
    process = subprocess.Popen(
        [sys.executable, *command, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _end(process)
        stdout, stderr = process.communicate()
        pytest.fail(
            f"casework {' '.join(args)} did not end within {timeout:.0f} s; it was stopped.\n"
            f"stderr:\n{stderr[-3000:]}"
        )
    except BaseException:  # pytest-timeout, ^C: never leave a run behind
        _end(process)
        raise
    return Finished(process.returncode, stdout, stderr)


def _end(process: subprocess.Popen[str]) -> None:
    """SIGTERM first (the runs it started in groups of their own stop with it), then SIGKILL
    for the group."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def write_textbook(
    folder: Path, arrivals: float, services: float, engineers: int, target: str
) -> list[str]:
    """The textbook's files (casework.simulation.textbook) with one target for every tier and
    priority; the options that name them."""
    from casework.simulation.textbook import textbook_directory, textbook_load, textbook_policy

    folder.mkdir(parents=True, exist_ok=True)
    policy = textbook_policy(target).model_dump(mode="json", exclude_none=True)
    files = {
        "roster.yaml": textbook_directory(engineers).model_dump(mode="json", exclude_none=True),
        "load.yaml": textbook_load(arrivals, services).model_dump(mode="json", exclude_none=True),
        "policy.yaml": policy,
    }
    for name, data in files.items():
        (folder / name).write_text(dump_text(data))
    return [
        "--directory", str(folder / "roster.yaml"),
        "--load", str(folder / "load.yaml"),
        "--policy", str(folder / "policy.yaml"),
    ]  # fmt: skip
