"""casework.engine_record on its own (issue 27): where a state folder's engine keeps its
database, Temporal, namespace and task queue, and who may work on the folder as told."""

from __future__ import annotations

from pathlib import Path

import pytest

from casework.engine_record import (
    EngineMismatch,
    EngineRecord,
    Told,
    for_engine,
    place,
    same_database,
    write_record,
)
from casework.settings import Settings
from casework.state_lock import Holder, hold

PG = "postgresql+psycopg://casework:s3cret@db.internal:5432/casework"


def settings(state: Path, **given: str) -> Settings:
    return Settings.from_env(state_dir=state, **given)  # type: ignore[arg-type]


def engine_holder() -> Holder:
    return Holder.this_process(
        "casework up",
        temporal="127.0.0.1:7400",
        task_queue="casework",
        namespace="default",
        database=PG,
    )


def test_the_same_database_whatever_the_driver_or_password(tmp_path: Path) -> None:
    assert same_database(PG, "postgresql://casework:other@db.internal/casework")
    assert not same_database(PG, "postgresql+psycopg://casework@db.internal:5432/other")
    assert not same_database(PG, f"sqlite:///{tmp_path}/casework.db")
    assert same_database(
        f"sqlite:///{tmp_path}/a/../casework.db", f"sqlite:///{tmp_path}/casework.db"
    )


def test_a_joining_worker_takes_everything_from_the_running_engine(tmp_path: Path) -> None:
    with pytest.raises(EngineMismatch, match="nothing to join"):
        place(settings(tmp_path), Told(), "join")
    with hold(tmp_path, engine_holder()):
        placed = place(settings(tmp_path), Told(), "join")
        assert (placed.settings.db_url, placed.temporal, placed.settings.task_queue) == (
            PG,
            "127.0.0.1:7400",
            "casework",
        )
        same = Told(
            database="postgresql://casework@db.internal/casework", temporal="localhost:7400"
        )
        assert place(settings(tmp_path), same, "join").settings.db_url == PG
        with pytest.raises(EngineMismatch) as refused:
            place(settings(tmp_path), Told(database=f"sqlite:///{tmp_path}/x.db"), "join")
        said = str(refused.value)
        assert "its database is postgresql+psycopg://casework:***@db.internal:5432/casework" in said
        assert "s3cret" not in said and "Nothing was started" in said
        with pytest.raises(EngineMismatch, match="namespace is default"):
            place(settings(tmp_path), Told(namespace="support"), "join")
        with pytest.raises(EngineMismatch, match="--join"):
            place(settings(tmp_path), Told(), "worker")


def test_commands_find_a_stopped_engine_in_its_record_and_refuse_another_database(
    tmp_path: Path,
) -> None:
    assert place(settings(tmp_path), Told(), "command").settings.db_url.startswith("sqlite")
    write_record(tmp_path, EngineRecord(PG, "127.0.0.1:7400", "default", "casework"))
    assert (tmp_path / "engine.json").stat().st_mode & 0o077 == 0, "it holds a password"
    placed = place(settings(tmp_path), Told(), "command")
    assert (placed.settings.db_url, placed.temporal, placed.namespace) == (
        PG,
        "127.0.0.1:7400",
        "default",
    )
    with pytest.raises(EngineMismatch, match="task queue casework"):
        place(settings(tmp_path), Told(task_queue="other"), "command")
    worker = place(settings(tmp_path), Told(temporal="cluster:7233"), "worker")
    assert worker.settings.db_url == PG and worker.temporal is None  # its own Temporal


def test_up_starts_again_on_the_database_it_recorded_and_refuses_another(tmp_path: Path) -> None:
    write_record(tmp_path, EngineRecord(PG, "127.0.0.1:7233", "default", "casework"))
    again = for_engine(settings(tmp_path), database_given=False)
    assert again.db_url == PG
    with pytest.raises(EngineMismatch, match="recorded in engine.json"):
        for_engine(settings(tmp_path, db_url=f"sqlite:///{tmp_path}/x.db"), database_given=True)
    (tmp_path / "engine.json").write_text("{not json")
    with pytest.raises(EngineMismatch, match="cannot be read"):
        for_engine(settings(tmp_path), database_given=False)
