"""casework.state_lock on its own: the lock, its file, stale locks, who a worker may join.

The same in real processes (two `casework up`, a killed one, workers) is in tests/test_up.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest

from casework import state_lock
from casework.state_lock import Holder, StateFolderHeld, WorkerRefused, engine_to_join


def holder(**changes: str) -> Holder:
    values = {"temporal": "127.0.0.1:7400", "task_queue": "casework", **changes}
    return Holder.this_process("casework up", **values)


def test_a_held_folder_is_refused_naming_its_holder_until_released(tmp_path: Path) -> None:
    lock = state_lock.acquire(tmp_path, holder())
    path = tmp_path / state_lock.LOCK_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(StateFolderHeld) as refused:
        state_lock.acquire(tmp_path, holder())  # another open file: flock refuses it too
    assert refused.value.holder.pid == os.getpid()
    assert f"in use by casework up, pid {os.getpid()}" in str(refused.value)

    lock.release()
    assert not path.exists()
    with state_lock.hold(tmp_path, holder()) as again:
        assert again.stale is None and again.takeover_note() is None
    assert not path.exists()


def test_a_lock_left_by_a_dead_process_is_taken_over_with_a_note(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])  # a pid that no longer runs
    dead.wait()
    left = Holder(pid=dead.pid, host=holder().host, started="yesterday", command="casework up")
    (tmp_path / state_lock.LOCK_FILE).write_text(json.dumps(asdict(left)))
    with state_lock.hold(tmp_path, holder()) as lock:
        assert lock.stale == left
        note = lock.takeover_note()
        assert note and f"pid {dead.pid}" in note and "no longer runs" in note
        assert Holder.parse((tmp_path / state_lock.LOCK_FILE).read_text()) == lock.holder


def test_a_worker_runs_alone_on_a_free_folder_and_joins_only_a_holding_engine(
    tmp_path: Path,
) -> None:
    assert (
        engine_to_join(tmp_path, join=False, configured_target=None, task_queue="casework") is None
    )
    with pytest.raises(WorkerRefused, match="nothing to join"):
        engine_to_join(tmp_path, join=True, configured_target=None, task_queue="casework")

    with state_lock.hold(tmp_path, holder()) as lock:
        with pytest.raises(WorkerRefused, match="--join"):
            engine_to_join(tmp_path, join=False, configured_target=None, task_queue="casework")
        joined = engine_to_join(
            tmp_path, join=True, configured_target="localhost:7400", task_queue="casework"
        )
        assert joined == lock.holder
        with pytest.raises(WorkerRefused, match="serves Temporal at 127.0.0.1:7400"):
            engine_to_join(
                tmp_path, join=True, configured_target="elsewhere:7233", task_queue="casework"
            )
        with pytest.raises(WorkerRefused, match="task queue casework"):
            engine_to_join(tmp_path, join=True, configured_target=None, task_queue="other")
