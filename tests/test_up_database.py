"""`casework up --database URL`: the engine keeps casework's database where the URL says (on
PostgreSQL with `--db postgres`), builds its schema there and opens cases into it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from casework.store import HEAD
from casework.store.schema import version_of
from tests.test_up import Engine, engines, free_port, free_port_pair  # noqa: F401 (a fixture)

pytestmark = pytest.mark.timeout(150)


def test_up_keeps_casework_in_the_named_database(
    tmp_path: Path,
    db_url: str,
    engines: list[Engine],  # noqa: F811
) -> None:
    state = tmp_path / "state"
    engine = Engine(
        state,
        free_port(),
        free_port(),
        "--database",
        db_url,
        "--metrics-port",
        str(free_port_pair()),
    )
    engines.append(engine)
    engine.wait_for("Ctrl+C")
    assert engine.stop() == 0
    database = create_engine(db_url)
    try:
        assert version_of(database) == HEAD
        assert {"accounts", "case_numbers", "outbox", "feed"} <= set(
            inspect(database).get_table_names()
        )
    finally:
        database.dispose()
    if not db_url.startswith("sqlite"):
        assert not (state / "casework.db").exists(), "nothing went to the default SQLite file"
