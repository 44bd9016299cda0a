"""What every repository shares: the engine and timezone-aware reads (the dialect's upserts:
casework.store.dialect)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select

if TYPE_CHECKING:
    from casework.identity.keyring import KeyRing


def aware(row: dict[str, Any]) -> dict[str, Any]:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return {
        k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v
        for k, v in row.items()
    }


def utc(at: datetime) -> datetime:
    """What is written: SQLite keeps a datetime's wall time and drops its offset."""
    return at.astimezone(UTC) if at.tzinfo is not None else at


class Repository:
    """A group of tables behind one engine (shared with the other repositories)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _rows(
        self, query: Select[Any], parameters: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """`query`'s rows as dicts, times in UTC; `parameters`: its bound parameters' values
        (a query built once, `bindparam`)."""
        with self.engine.connect() as conn:
            return [aware(dict(r)) for r in conn.execute(query, parameters).mappings()]

    def _between(
        self, table: Table, column: str, start: datetime, end: datetime, then: str
    ) -> list[dict[str, Any]]:
        """The rows of `table` whose `column` is in [start, end), oldest first (by `then` at
        the same instant)."""
        at = table.c[column]
        query = select(table).where(at >= start, at < end).order_by(at, table.c[then])
        return self._rows(query)


class SealingRepository(Repository):
    """A repository whose restricted rows' texts are sealed with the restricted key (U5)."""

    def __init__(self, engine: Engine, ring: KeyRing | None = None) -> None:
        super().__init__(engine)
        self.ring = ring

    def seal(self, text: str) -> str:
        from casework.codec.crypto import seal

        if self.ring is None:
            raise RestrictedWithoutKey(
                "a US Citizen Support case's text is sealed at rest, and this store was opened "
                "without the key ring: open it with Store(url, ring) (casework.engine.open_store)"
            )
        return seal(self.ring, text)

    def unseal(self, text: str) -> str:
        """The text as written; sealed text stays sealed for a store opened without the ring."""
        from casework.codec.crypto import is_sealed, unseal

        if self.ring is None or not is_sealed(text):
            return text
        return unseal(self.ring, text)


class RestrictedWithoutKey(Exception):
    """A restricted row cannot be written in plain text, and there is no key to seal it."""
