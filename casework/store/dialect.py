"""Everything the store says differently to SQLite and to PostgreSQL, in one module: moving
casework to another SQL database means teaching this file (and Alembic's migrations, which
SQLAlchemy writes for every dialect it knows) the new one, and nothing else.

- `open_engine`: the engine, with the connection options the dialect needs (SQLite: a lock
  timeout and write-ahead logging).
- `insert_or_nothing`, `insert_or_update`: the two idempotent writes every repository makes
  (ON CONFLICT DO NOTHING, and ON CONFLICT DO UPDATE ... WHERE); `insert_or_newer`, the
  second for rows a newer revision replaces. A write made again and again has its statement
  built once a shape. Each is one statement, and its guard is decided by the database, so a
  retried older write never wins over a newer one, however the two interleave (see "Who may
  write" in workflows/case/context.py for which writes rely on it).
- `number_from`: a serial column that goes on from an explicit value (PostgreSQL's sequence).
- `migration_engine`, `lock_for_migration`, `in_memory`: how one process at a time migrates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, ColumnElement, Table, create_engine, event, text
from sqlalchemy.engine import Connection, CursorResult, Engine, make_url

if TYPE_CHECKING:  # the dialects are imported when used: PostgreSQL's costs CLI start-up time
    from sqlalchemy.dialects import postgresql, sqlite

DIALECTS = ("sqlite", "postgresql")
"""The databases casework runs on."""
POSTGRES_LOCK = 0x6361_7365_776F_726B  # pg_advisory_xact_lock key: "casework" in hex

Values = Mapping[str, Any] | Sequence[Mapping[str, Any]]


def open_engine(url: str) -> Engine:
    """The store's engine for `url`."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url)
    engine = create_engine(url, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_write_ahead)
    return engine


def _sqlite_write_ahead(connection: Any, _record: Any) -> None:
    """SQLite in write-ahead mode: readers (the door, `casework` commands) do not wait for the
    worker's writes, and a commit needs one sync of the log, not of the database; with
    `synchronous=NORMAL` a commit can be lost only to a power cut, never corrupt the file."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _insert(conn: Connection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """The dialect's INSERT, which has ON CONFLICT DO UPDATE ... WHERE and DO NOTHING."""
    return _insert_for(conn.dialect.name, table)


def _insert_for(dialect: str, table: Table) -> sqlite.Insert | postgresql.Insert:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    raise NotImplementedError(
        f"casework runs on SQLite or PostgreSQL, not {dialect}: teach "
        "casework/store/dialect.py the new database"
    )


def insert_or_nothing(
    conn: Connection,
    table: Table,
    values: Values,
    *,
    key: Sequence[Column[Any] | str] | None = None,
    returning: Sequence[Column[Any]] = (),
) -> CursorResult[Any]:
    """Insert `values` (a row, or rows); a row whose `key` (a unique constraint's columns;
    None: any) is on record already is left as it is, and this write changes nothing of it.
    `returning`: columns of the rows this write inserted (none for the rows it left). Rows
    written together name the same columns (ValueError otherwise). The statement is built
    once a shape (`_nothing`) and executed with the rows as parameters (several rows:
    SQLAlchemy's "insertmanyvalues", one INSERT of many VALUES): building it with the values
    in it cost 0.4 ms a row of a case's feed, 0.07 ms so."""
    rows = [values] if isinstance(values, Mapping) else list(values)
    if not rows:
        raise ValueError(f"nothing to insert into {table.name}")
    names = set(rows[0])
    if any(set(row) != names for row in rows[1:]):
        # one INSERT has one column list: the columns of the first row (SQLAlchemy would
        # drop another row's extra values without a word)
        raise ValueError(f"rows of several shapes for {table.name}: write each shape apart")
    shape = _nothing(conn.dialect.name, table, _columns(key), _columns(returning))
    return conn.execute(shape, rows[0] if len(rows) == 1 else rows)


def _columns(key: Sequence[Column[Any] | str] | None) -> tuple[str, ...] | None:
    if key is None:
        return None
    return tuple(column if isinstance(column, str) else column.name for column in key)


@functools.lru_cache(maxsize=64)
def _nothing(
    dialect: str, table: Table, key: tuple[str, ...] | None, returning: tuple[str, ...] | None
) -> Any:
    """Keyed by names, not columns: a column's `==` is SQL, not a comparison."""
    statement = _insert_for(dialect, table).on_conflict_do_nothing(
        index_elements=None if key is None else [table.c[name] for name in key]
    )
    return statement.returning(*(table.c[name] for name in returning)) if returning else statement


def insert_or_update(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    *,
    key: Sequence[Column[Any] | str],
    changes: Callable[[Any], Mapping[str, Any]],
    where: Callable[[Any], ColumnElement[bool]],
    returning: Sequence[Column[Any]] = (),
    shape: str | None = None,
) -> CursorResult[Any]:
    """Insert the row `values`; when a row of the same `key` is on record, update it with
    `changes(new)` only `where(new)` holds, both given `new`, the row this write proposed
    (SQL's `excluded`), beside the table's columns (the row on record). One statement: the
    database decides, so of two writes racing the guard keeps the one it says wins.
    `returning`: columns of the row inserted or updated (none when the guard refused).
    `shape`: a name for a write made again and again whose `changes` and `where` use only
    `new` and the table (never the values themselves): its statement is built once a name
    and set of columns, and run with the values as parameters (an escalation's write spent
    most of its time building its `excluded` row and guard)."""
    if shape is not None:
        columns = tuple(sorted(values))
        found = (conn.dialect.name, table.name, shape, columns, tuple(c.name for c in returning))
        statement = _SHAPED.get(found)
        if statement is None:
            statement = _upsert(_insert(conn, table), key, changes, where, returning)
            if len(_SHAPED) >= MAX_SHAPES:
                _SHAPED.clear()
            _SHAPED[found] = statement
        return conn.execute(statement, dict(values))
    statement = _insert(conn, table).values(**values)
    return conn.execute(_upsert(statement, key, changes, where, returning))


MAX_SHAPES = 256
"""Statements `insert_or_update` keeps by shape (a few per table in practice)."""
_SHAPED: dict[tuple[Any, ...], Any] = {}


def _upsert(
    statement: Any,
    key: Sequence[Column[Any] | str],
    changes: Callable[[Any], Mapping[str, Any]],
    where: Callable[[Any], ColumnElement[bool]],
    returning: Sequence[Column[Any]],
) -> Any:
    new = statement.excluded
    guarded = statement.on_conflict_do_update(
        index_elements=key, set_=dict(changes(new)), where=where(new)
    )
    return guarded.returning(*returning) if returning else guarded


def insert_or_newer(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    *,
    key: str,
    update: Sequence[str],
    revision: str = "revision",
) -> bool:
    """`insert_or_update` for the rows a newer revision replaces (a case's list row, its
    facts): insert the row `values`; when its `key` is on record, set the columns `update` to
    this write's values only if the row's `revision` is not newer than this write's. True if
    the row was inserted or updated. Its statement is built once a shape (`shape=`): building
    it for each write was most of such a write's cost (1.1 ms of SQLAlchemy for an upsert of a
    case's row)."""
    columns = tuple(update)
    written = insert_or_update(
        conn,
        table,
        values,
        key=[table.c[key]],
        changes=lambda new: {column: new[column] for column in columns},
        where=lambda new: table.c[revision] <= new[revision],
        returning=[table.c[key]],
        shape=f"newer:{key}:{revision}:{','.join(columns)}",
    )
    return written.first() is not None


def number_from(conn: Connection, table: Table, column: str, last: int) -> None:
    """After a row was written with an explicit `last` in the serial `column`, the next row
    the database numbers gets `last + 1` (SQLite goes on from the highest itself)."""
    if conn.dialect.name == "postgresql":  # an explicit key leaves its sequence be
        conn.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column}'), :n)"),
            {"n": last},
        )


def migration_engine(url: str) -> Engine:
    """An engine whose transactions hold the database's write lock from their first statement:
    SQLite's BEGIN IMMEDIATE (pysqlite otherwise begins lazily, and not before DDL), so a
    second process waits, then finds the work done. PostgreSQL: `lock_for_migration`."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url)
    engine = create_engine(url, connect_args={"timeout": 30, "isolation_level": None})

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def lock_for_migration(conn: Connection) -> None:
    """Hold, until this transaction ends, the lock that lets one process migrate at a time
    (SQLite: taken already by the migration engine's BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_LOCK})


def in_memory(engine: Engine) -> bool:
    """A private database that lives as long as its engine (SQLite's `:memory:`)."""
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")
