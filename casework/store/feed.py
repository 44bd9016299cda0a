"""The case feed (E4 Show Feed): every entry of every case, kept in the database so that the
feed, which only grows, does not ride along in workflow state (and across continue-as-new).

The case workflow numbers its entries (seq, from 0) and appends them in batches through the
`record_feed` activity; a batch retried, or overlapping an earlier one, adds only what is new.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from casework.store.base import SealingRepository, utc
from casework.store.dialect import insert_or_nothing
from casework.store.tables import feed

ROWS_PER_STATEMENT = 100
"""Entries in one INSERT (7 parameters each, well inside SQLite's oldest 999 limit); a batch
of any size is still one transaction."""


class FeedRepository(SealingRepository):
    def append(
        self, case_id: str, entries: list[dict[str, Any]], *, restricted: bool = False
    ) -> int:
        """Add the case's entries (each with seq, at, actor, kind, text, refused) in one
        transaction; an entry already on record at its seq is kept as it is. Returns how many
        were new. U5: a restricted case's texts are sealed."""
        rows = [
            {
                "case_id": case_id,
                "seq": e["seq"],
                "at": utc(e["at"]),
                "actor": e["actor"],
                "kind": e["kind"],
                "text": self.seal(e.get("text", "")) if restricted else e.get("text", ""),
                "refused": e.get("refused", False),
            }
            for e in entries
        ]
        added = 0
        with self.engine.begin() as conn:
            for start in range(0, len(rows), ROWS_PER_STATEMENT):
                result = insert_or_nothing(
                    conn,
                    feed,
                    rows[start : start + ROWS_PER_STATEMENT],
                    key=[feed.c.case_id, feed.c.seq],
                    returning=[feed.c.seq],
                )
                added += len(result.all())
        return added

    def page(self, case_id: str, *, offset: int = 0, limit: int = 50) -> list[dict[str, Any]]:
        """Entries of the case from position `offset` on, at most `limit`, in feed order."""
        if offset < 0 or limit < 0:
            raise ValueError(f"offset and limit are counts: got offset={offset}, limit={limit}")
        query = (
            select(feed).where(feed.c.case_id == case_id).order_by(feed.c.seq).offset(offset)
        ).limit(limit)
        rows = self._rows(query)
        for row in rows:
            row["text"] = self.unseal(row["text"])
        return rows

    def count(self, case_id: str) -> int:
        with self.engine.connect() as conn:
            query = select(func.count()).select_from(feed).where(feed.c.case_id == case_id)
            return int(conn.execute(query).scalar_one())
