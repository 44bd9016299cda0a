"""The database's schema version: Alembic migrations, run from code.

`Store(url)` asks one cheap question, `SELECT version_num FROM alembic_version`, and compares
the answer with `HEAD`. Only a database that is behind (or new, or made before casework had
migrations) pays for importing Alembic and upgrading, under a lock, so two processes starting
on the same new database do not both build it.

A database made before migrations (casework's tables, no `alembic_version`) is adopted: any
baseline table or column an older file lacks is added, as casework used to do on every start,
then it is stamped with the baseline revision 0001 and upgraded in place, rows kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, MetaData, false, inspect, text
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError

from casework.store.dialect import in_memory, lock_for_migration, migration_engine

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "0009"
"""The newest revision in migrations/versions/ (a test keeps the two in step)."""

BASELINE = "0001"
MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer casework than this one."""


def version_of(engine: Engine) -> str | None:
    """The database's revision; None if it has none (new, or made before migrations)."""
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:  # no alembic_version table
        return None
    return str(version) if version is not None else None


def ensure_current(engine: Engine) -> None:
    """Upgrade the database behind `engine` if it is not at HEAD; one query when it is."""
    if version_of(engine) == HEAD:
        return
    if in_memory(engine):  # a private database: nobody to lock out, and no second engine
        _upgrade(engine)
    else:
        migrate(engine.url)


def migrate(url: str | URL) -> None:
    """Bring the database at `url` to HEAD: create it, adopt one made before migrations, or
    apply the revisions it lacks. Safe to run from several processes at once."""
    engine = migration_engine(url if isinstance(url, str) else url.render_as_string(False))
    try:
        _upgrade(engine)
    finally:
        engine.dispose()


def _upgrade(engine: Engine) -> None:
    from alembic import command

    with engine.begin() as conn:  # one transaction: DDL is transactional on both databases
        lock_for_migration(conn)
        config = _config(conn)
        tables = set(inspect(conn).get_table_names())
        if "alembic_version" not in tables:
            baseline = _baseline(config)
            if tables & set(baseline.tables):
                _adopt(conn, baseline)
                command.stamp(config, BASELINE)
        else:
            _refuse_unknown(conn, config)
        command.upgrade(config, "head")


def _config(conn: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def _baseline(config: Config) -> MetaData:
    """The tables of revision 0001, as that revision writes them out."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(config).get_revision(BASELINE)
    assert script is not None
    metadata = MetaData()
    script.module.baseline(metadata)
    return metadata


def _adopt(conn: Connection, baseline: MetaData) -> None:
    """A database made before migrations: add the baseline tables and columns it lacks (all
    nullable or defaulted), so it is exactly at 0001 when stamped."""
    baseline.create_all(conn, checkfirst=True)
    inspector = inspect(conn)
    for table in baseline.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            kind = column.type.compile(dialect=conn.dialect)
            default = ""
            if isinstance(column.type, Boolean):  # 0 on SQLite, false on PostgreSQL
                default = f" DEFAULT {false().compile(dialect=conn.dialect)} NOT NULL"
            conn.execute(
                text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}{default}')
            )


def _refuse_unknown(conn: Connection, config: Config) -> None:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    try:
        ScriptDirectory.from_config(config).get_revision(str(version))
    except CommandError:
        raise SchemaTooNew(
            f"the database is at schema revision {version}, which this casework (at {HEAD}) "
            "does not know: it was migrated by a newer casework; run that one"
        ) from None
