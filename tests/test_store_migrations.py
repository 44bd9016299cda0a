"""The database's schema under Alembic: a new database is built to HEAD, a state folder made
before migrations is upgraded in place with its rows, and a current database costs one query
(no Alembic import) each time a Store is made. On SQLite, and on PostgreSQL with `--db postgres`
(or `both`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Integer, create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from casework.store import HEAD, Store, migrate, schema
from casework.store.base import aware
from casework.store.tables import metadata
from tests.conftest import TEST_RING

BEFORE_MIGRATIONS = Path(__file__).parent / "data" / "casework-before-migrations.db"
"""Made by the store of the last casework without migrations (make_before_migrations_db.py)."""

RESTRICTED, ORDINARY = "case-700001", "case-700002"
LOG = {"id": "att-1", "name": "ike-debug.log", "sha256": "a" * 64}


@pytest.fixture
def old_db(db_url: str) -> str:
    """The URL of a database made by the last casework without migrations: the checked-in
    SQLite file, or on PostgreSQL the same tables (revision 0001's, which that casework's
    `create_all` made) holding the same rows."""
    if db_url.startswith("sqlite"):
        shutil.copy(BEFORE_MIGRATIONS, make_url(db_url).database or "")
    else:
        copy_before_migrations(db_url)
    return db_url


def copy_before_migrations(url: str) -> None:
    old = schema._baseline(schema._config(None))  # type: ignore[arg-type]
    source, target = create_engine(f"sqlite:///{BEFORE_MIGRATIONS}"), create_engine(url)
    with source.connect() as reading, target.begin() as writing:
        old.create_all(writing)
        for table in old.sorted_tables:
            rows = [aware(dict(r)) for r in reading.execute(select(table)).mappings()]
            if rows:
                writing.execute(table.insert(), rows)
            # rows copied with their keys leave the key's sequence behind, which the old
            # casework's own inserts would have moved on
            for column in table.primary_key.columns:
                if not isinstance(column.type, Integer):
                    continue
                writing.execute(
                    text(
                        f"SELECT setval(s, (SELECT COALESCE(MAX({column.name}), 0) + 1 "
                        f"FROM {table.name}), false) "
                        "FROM pg_get_serial_sequence(:t, :c) AS s WHERE s IS NOT NULL"
                    ),
                    {"t": table.name, "c": column.name},
                )
    source.dispose()
    target.dispose()


@pytest.fixture
def upgrades(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every migration run, by URL."""
    runs: list[str] = []
    real = schema._upgrade

    def counted(engine: Any) -> None:
        runs.append(str(engine.url))
        real(engine)

    monkeypatch.setattr(schema, "_upgrade", counted)
    yield runs


def version(url: str) -> str | None:
    engine = create_engine(url)
    try:
        return schema.version_of(engine)
    finally:
        engine.dispose()


def schema_of(url: str) -> dict[str, Any]:
    """Tables, columns (name, type, nullable, default, key), indexes and unique constraints."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        return {
            table: (
                [
                    (c["name"], str(c["type"]), c["nullable"], c["default"], c["primary_key"])
                    for c in inspector.get_columns(table)
                ],
                sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(table)
                ),
                sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
            )
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


def test_head_names_the_newest_revision() -> None:
    """The HEAD constant that Store compares with is the migrations' own head."""
    config = schema._config(None)  # type: ignore[arg-type]
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


def test_a_new_database_is_built_to_head_as_the_tables_say(
    db_url: str, upgrades: list[str]
) -> None:
    Store(db_url).dispose()
    assert version(db_url) == HEAD and len(upgrades) == 1
    engine = create_engine(db_url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert differences == [], "casework/store/tables.py and the migrations disagree"


def test_the_baseline_revision_is_the_schema_casework_made_before_migrations(
    tmp_path: Path,
) -> None:
    """Revision 0001 builds exactly what the old `create_all` (and its added columns) built."""
    url = f"sqlite:///{tmp_path / 'baseline.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(schema._config(conn), schema.BASELINE)
    engine.dispose()
    assert schema_of(url) == schema_of(f"sqlite:///{BEFORE_MIGRATIONS}")


def test_a_database_made_before_migrations_is_upgraded_in_place(
    old_db: str, upgrades: list[str]
) -> None:
    """An existing state folder keeps its directory, cases, notifications, approvals and
    report rows; it is stamped with the baseline and upgraded to HEAD once."""
    store = Store(old_db, TEST_RING)  # U5: a restricted case's PR is sealed
    try:
        assert version(old_db) == HEAD and len(upgrades) == 1
        acme = store.directory.account("acme")
        assert acme is not None and [c.id for c in acme.contacts] == ["acme-alice", "acme-bob"]
        assert "usc-kara" in store.directory.restricted_members()
        assert store.tracker.open_case_counts() == {"usc-kara": 1, "gsc-erin": 1}
        assert [n["body"] for n in store.outbox.rows(ORDINARY)] == [
            "We have your case.",
            "Secret details of the case.",
        ]
        at = datetime(2026, 3, 5, tzinfo=UTC)
        pr = store.tracker.file_problem_report("k", RESTRICTED, "crash", "gec-hugo", at)
        assert store.tracker.share_logs(f"{RESTRICTED}-logs-1", RESTRICTED, pr, [LOG], at) == [
            "att-1"
        ], "the customer's approval, recorded before the upgrade, still covers the log"
        facts = store.reporting.cases_opened(datetime(2026, 3, 4, tzinfo=UTC), at)
        assert [(f["case_id"], f["revision"]) for f in facts] == [(RESTRICTED, 3), (ORDINARY, 3)]
        [escalation] = store.escalations.rows(ORDINARY)
        assert escalation["acknowledged_by"] == "em-jon"
        assert store.intake.allocate_case_number("req-ordinary", at) == (700_002, False)
        assert store.intake.allocate_case_number("req-new", at) == (700_003, True)
        assert store.feed.count(RESTRICTED) == 0
    finally:
        store.dispose()
    Store(old_db).dispose()
    assert len(upgrades) == 1, "a current database is not migrated again"


def test_the_upgrade_flags_the_old_outbox_rows_of_us_citizen_cases_once(old_db: str) -> None:
    """U5: rows written before the outbox had a flag get it from the guess `casework outbox`
    used to make: every row of a case that wrote to a contact of a US Citizen Support account
    is restricted, for that account; a row of no case is, when it goes to such a contact or
    to a restricted-queue engineer (no account: members only)."""
    engine = create_engine(old_db)
    with engine.begin() as conn:
        for key, kind, person in (
            ("k-usc-contact", "contact", "cyberdyne-ivan"),
            ("k-member", "engineer", "usc-kara"),
            ("k-acme", "contact", "acme-bob"),
        ):
            conn.execute(
                text(
                    "INSERT INTO outbox (idempotency_key, case_id, recipient_kind, recipient_id, "
                    "subject, body, created_at) VALUES (:key, NULL, :kind, :person, 's', 'b', "
                    ":at)"
                ),
                {"key": key, "kind": kind, "person": person, "at": datetime(2026, 3, 4, 15)},
            )
    engine.dispose()
    store = Store(old_db)
    try:
        flags = {
            (n["case_id"], n["recipient_id"]): (n["restricted"], n["account_id"])
            for n in store.outbox.rows()
        }
    finally:
        store.dispose()
    assert flags == {
        (RESTRICTED, "cyberdyne-judy"): (True, "cyberdyne"),
        (RESTRICTED, "usc-kara"): (True, "cyberdyne"),
        (ORDINARY, "acme-alice"): (False, None),
        (ORDINARY, "gsc-erin"): (False, None),
        (None, "cyberdyne-ivan"): (True, "cyberdyne"),
        (None, "usc-kara"): (True, None),
        (None, "acme-bob"): (False, None),
    }


def test_a_current_database_costs_one_query_and_no_alembic_import(tmp_path: Path) -> None:
    """Importing Alembic costs the CLI start-up time: a Store over a database at HEAD never
    imports it (a fresh interpreter, so nothing else imported it first)."""
    url = f"sqlite:///{tmp_path / 'casework.db'}"
    migrate(url)
    probe = (
        "import sys\n"
        "from casework.store import Store\n"
        f"Store({url!r}).dispose()\n"
        "print('alembic' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_processes_starting_together_build_a_new_database_once(db_url: str) -> None:
    """`casework up` and a CLI command (or several workers) may open a new database at the
    same moment: the migration holds the database's write lock (PostgreSQL: an advisory lock),
    the second finds the work done."""
    url = db_url
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            Store(url).dispose()
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert version(url) == HEAD


def test_a_database_migrated_by_a_newer_casework_is_refused(db_url: str) -> None:
    migrate(db_url)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(schema.SchemaTooNew, match="revision 9999, which this casework"):
        Store(db_url)


def test_a_store_reads_its_rows_with_one_engine(tmp_path: Path) -> None:
    """The repositories share the store's engine: one pool per database."""
    store = Store(f"sqlite:///{tmp_path / 'casework.db'}")
    try:
        repositories = (
            store.directory,
            store.intake,
            store.tracker,
            store.outbox,
            store.escalations,
            store.reporting,
        )
        assert all(r.engine is store.engine for r in repositories)
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM products")).scalar() == 0
    finally:
        store.dispose()
