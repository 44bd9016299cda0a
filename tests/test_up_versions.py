"""`casework up` across releases on one laptop (issue 28): each start says which deployment
version runs and makes it current; the cases of an unversioned release (before 0.2.0) move onto
it by replaying there, those pinned to another version once a worker of that version runs
beside it (they roll over on it), which the banner asks for."""

from __future__ import annotations

import json
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from tests import test_up
from tests.test_up import CASEWORK, STOP_TIMEOUT, Engine, clean_env, free_port
from tests.waiting import eventually_sync, source_of

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

engines = test_up.engines

BRIDGE = metadata.version("casework")
NEXT = "9.0.0"
"""A later release, as CASEWORK_BUILD_ID says (the same code: what matters here is the id)."""


def versions(engine: Engine) -> dict[str | None, Any]:
    shown = engine.casework("versions", "--json")
    assert shown.returncode == 0, shown.stderr
    return {row["build_id"]: row for row in json.loads(shown.stdout)}


def until_versions(engine: Engine, check: Any, timeout: float = 60.0) -> dict[str | None, Any]:
    """`casework versions` once `check` holds for its rows (visibility follows the runs)."""
    rows: dict[str | None, Any] = eventually_sync(
        lambda: versions(engine),
        timeout,
        every=0.5,
        until=check,
        what=f"casework versions to match {source_of(check)}",
    )
    return rows


def test_up_says_its_version_and_its_cases_follow_it_from_release_to_release(
    tmp_path: Path, engines: list[Engine]
) -> None:
    state = tmp_path / "state"
    before = Engine(state, free_port(), free_port(), CASEWORK_WORKER_VERSIONING="off")
    engines.append(before)
    assert "unversioned" in before.wait_for("Version:")
    before.wait_for("Ctrl+C")
    opened = before.casework(
        *("--profile", "acme-alice", "open", "--product", "FortiGate", "--version", "7.4.3"),
        *("--priority", "P3", "--description", "VPN drops at midnight"),
    )
    assert opened.returncode == 0, opened.stderr
    case_id = opened.stdout.split()[0]
    assert before.stop() == 0

    # the bridge: the unversioned case replays on it at its next task (one the bridge asks
    # for, or one it had pending), and stays on it (PINNED) until it rolls over
    bridge = Engine(state, free_port(), free_port())
    engines.append(bridge)
    assert f"casework:{BRIDGE}, current" in bridge.wait_for("Version:")
    bridge.wait_for("Ctrl+C")
    rows = until_versions(bridge, lambda r: None not in r and r[BRIDGE]["open_cases"] == 1)
    assert rows[BRIDGE]["current"]
    assert bridge.stop() == 0

    # a later release: the bridge's case waits for a worker of the bridge, as the banner says
    later = Engine(state, free_port(), free_port(), CASEWORK_BUILD_ID=NEXT)
    engines.append(later)
    assert f"casework:{NEXT}, current" in later.wait_for("Version:")
    note = later.wait_for("Note:")
    assert f"1 open cases run on version {BRIDGE}: run a worker of {BRIDGE} beside" in note
    later.wait_for("Ctrl+C")
    beside = subprocess.Popen(
        [CASEWORK, "worker", "--join"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(CASEWORK_STATE_DIR=str(state), CASEWORK_BUILD_ID=BRIDGE),
    )
    try:
        rows = until_versions(later, lambda r: r[BRIDGE]["may_shut_down"])
    finally:
        beside.terminate()
        beside.wait(STOP_TIMEOUT)
    assert (rows[NEXT]["current"], rows[NEXT]["open_cases"]) == (True, 1)
    shown = later.casework("--profile", "acme-alice", "show", case_id, "--output", "json")
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert view["state"] == "in_progress"
    assert [e["kind"] for e in view["feed"]][:2] == ["opened", "assigned"]
    moved = view["feed"][-1]
    assert moved["text"] == f"history rolled over, from version {BRIDGE} to {NEXT}; state carried"
    assert later.stop() == 0
