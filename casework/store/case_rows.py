"""The case list's rows (issue 26): one per case, upserted by the case workflow whenever what
the list shows changes (a higher `revision` wins over a retried older write), read a page at a
time: filtered, searched, sorted, with a count of all that match.

U5: a restricted case's subject and description are sealed at rest as its feed is. A reader
who may not read them never matches on them (a search finds a restricted case by its number
only) and gets WITHHELD for its subject; one who may has them unsealed and searched here, in
Python, since sealed text cannot be searched by the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, false, func, literal, or_, select, tuple_
from sqlalchemy.sql import ColumnElement

from casework.case_pages import SORTS, CaseQuery, make_cursor
from casework.domain.us_citizen import WITHHELD
from casework.domain.validation import SUBJECT_CHARS, subject_of
from casework.store.base import SealingRepository, aware, utc
from casework.store.dialect import insert_or_newer
from casework.store.tables import case_rows

TEXTS = ("subject", "description")
RESTRICTED_SCANNED = 5_000
"""The most restricted rows one search unseals (a member's search of sealed texts)."""
QUEUE_ROWS = 500
"""The most cases of each kind (own, unowned) an engineer's queue shows."""
_DATES = ("due_at", "responded_at", "opened_at", "updated_at")
_LISTED = [c for c in case_rows.c if c.name != "description"]


@dataclass(frozen=True)
class CasePage:
    rows: list[dict[str, Any]]
    total: int
    next_cursor: str | None


class CaseRowRepository(SealingRepository):
    def record(self, row: dict[str, Any]) -> bool:
        """Upsert the case's row; its texts change only when the write carries them (the
        first write of a case's run). U5: a restricted case's texts are sealed. True if the
        row changed."""
        values: dict[str, Any] = {
            k: utc(v) if k in _DATES and v is not None else v for k, v in row.items()
        }
        texts = values.get("subject") is not None or values.get("description") is not None
        description = str(values.pop("description", None) or "")
        subject = subject_of(values.pop("subject", None), description)
        sealed = bool(values["restricted"])
        written = {
            **values,
            "subject": self.seal(subject) if sealed else subject,
            "subject_key": "" if sealed else subject.casefold()[:SUBJECT_CHARS],
            "description": self.seal(description) if sealed else description,
        }
        update = sorted(k for k in written if k != "case_id")
        if not texts:
            update = [k for k in update if k not in (*TEXTS, "subject_key")]
        with self.engine.begin() as conn:
            return insert_or_newer(conn, case_rows, written, key="case_id", update=update)

    def page(self, query: CaseQuery) -> CasePage:
        """The page `query` asks for, and how many rows match it in all."""
        where = self._where(query)
        column = case_rows.c[SORTS[query.sort]]
        key = tuple_(column, case_rows.c.case_id)
        paged = list(where)
        after = query.after()
        if after is not None:
            paged.append(key < tuple_(*after) if query.descending else key > tuple_(*after))
        order = (
            [column.desc(), case_rows.c.case_id.desc()]
            if query.descending
            else [
                column.asc(),
                case_rows.c.case_id.asc(),
            ]
        )
        listed = select(*_LISTED).where(*paged).order_by(*order).limit(query.size + 1)
        counted = select(func.count()).select_from(case_rows).where(*where)
        with self.engine.connect() as conn:
            rows = [aware(dict(r)) for r in conn.execute(listed).mappings()]
            total = int(conn.execute(counted).scalar_one())
        more = len(rows) > query.size
        rows = rows[: query.size]
        for row in rows:
            row["subject"] = self._subject(row, query.reads_restricted)
        cursor = None
        if more and rows:
            last = rows[-1]
            cursor = make_cursor(query, last[SORTS[query.sort]], last["case_id"])
        return CasePage(rows=rows, total=total, next_cursor=cursor)

    def queue(
        self,
        engineer: str,
        queues: list[str],
        *,
        reads_restricted: bool,
        leave_out: frozenset[str] = frozenset(),
        most: int = QUEUE_ROWS,
    ) -> list[dict[str, Any]]:
        """An engineer's queue (issue 26): the cases not closed that they own, and those of
        their team's `queues` nobody owns; at most `most` of each kind, the oldest first."""
        mine = case_rows.c.owner == engineer
        unowned = and_(case_rows.c.owner.is_(None), case_rows.c.queue.in_(queues or [""]))
        rows: list[dict[str, Any]] = []
        for which in (mine, unowned):
            chosen = (
                select(*_LISTED)
                .where(which, case_rows.c.state != "closed")
                .where(case_rows.c.case_id.not_in(sorted(leave_out)))
                .order_by(case_rows.c.opened_at, case_rows.c.case_id)
                .limit(most)
            )
            rows += self._rows(chosen)
        for row in rows:
            row["subject"] = self._subject(row, reads_restricted)
        return rows

    def _subject(self, row: dict[str, Any], reads_restricted: bool) -> str:
        if not row["restricted"]:
            return str(row["subject"])
        return self.unseal(row["subject"]) if reads_restricted else WITHHELD

    def _where(self, query: CaseQuery) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        for name, value in query.filters.columns().items():
            if value is not None:
                clauses.append(case_rows.c[name] == value)
        if query.owner is not None:
            clauses.append(case_rows.c.owner == query.owner)
        if query.scope_queue is not None:
            clauses.append(case_rows.c.queue == query.scope_queue)
        if query.leave_out:
            clauses.append(case_rows.c.case_id.not_in(sorted(query.leave_out)))
        if query.search is not None:
            clauses.append(self._matching(query, list(clauses)))
        return clauses

    def _matching(self, query: CaseQuery, scope: list[ColumnElement[bool]]) -> ColumnElement[bool]:
        """Rows whose number, subject or description holds the search (any case); U5: a
        restricted row's texts only for a reader who may read them."""
        words = (query.search or "").casefold()
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"

        def holds(column: Any) -> ColumnElement[bool]:
            return func.lower(column).like(literal(pattern), escape="\\")

        in_text = and_(
            case_rows.c.restricted == false(),
            or_(holds(case_rows.c.subject), holds(case_rows.c.description)),
        )
        found = [holds(case_rows.c.case_id), in_text]
        if query.reads_restricted:
            sealed = (
                select(case_rows.c.case_id, case_rows.c.subject, case_rows.c.description)
                .where(*scope, case_rows.c.restricted)
                .limit(RESTRICTED_SCANNED)
            )
            ids = [
                r["case_id"]
                for r in self._rows(sealed)
                if words in self.unseal(r["subject"]).casefold()
                or words in self.unseal(r["description"]).casefold()
            ]
            if ids:
                found.append(case_rows.c.case_id.in_(ids))
        return or_(*found)
