"""A page of the case list (issue 26): which column it is sorted by, which way, how many rows,
what it searches for, and the cursor that carries a reader to the next page. Pure: the store
(`casework.store.case_rows`) runs it; the door reads it from a query string.

The cursor is opaque to the reader: the sort, the last row's sort value and number, and a
fingerprint of the filters and search it was made for, so that a cursor sent with other filters
is refused instead of silently skipping rows. Keyset paging (after the last row, never an
offset) keeps a page from repeating or losing a row when new cases open meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from casework.case_list import CaseFilters
from casework.errors import CaseworkError

SORTS = {
    "number": "case_id",
    "subject": "subject_key",
    "priority": "priority",
    "state": "state",
    "due": "due_at",
    "opened": "opened_at",
    "updated": "updated_at",
}
"""What a list may be sorted by (the columns it shows) and the row column each reads."""
ORDERS = ("asc", "desc")
DEFAULT_SORT = "opened"
DEFAULT_ORDER = "desc"
PAGE_SIZE = 50
MAX_PAGE_SIZE = 1_000
"""As many as `casework list --limit` took before pages: every existing caller still works."""
SEARCH_CHARS = 200
MAX_CURSOR_CHARS = 1_000
_DATES = frozenset({"due_at", "opened_at", "updated_at"})


class BadListParameter(CaseworkError):
    """A list parameter that is not one: `field` names it, the message says what to write."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _refuse(name: str, message: str) -> BadListParameter:
    return BadListParameter(name, message)


def sort_of(sort: str | None, order: str | None) -> tuple[str, bool]:
    """The sort's name and whether it runs descending; CaseworkError naming the choices."""
    name = (sort or DEFAULT_SORT).strip().lower()
    if name not in SORTS:
        raise _refuse("sort", f"unknown column {sort!r}; sort by one of: {', '.join(SORTS)}")
    way = (order or DEFAULT_ORDER).strip().lower()
    if way not in ORDERS:
        raise _refuse("order", f"{order!r} is not an order; write asc or desc")
    return name, way == "desc"


def page_size_of(size: int | None) -> int:
    if size is None:
        return PAGE_SIZE
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise _refuse(
            "limit", f"{size} rows; a page holds 1 to {MAX_PAGE_SIZE} (default {PAGE_SIZE})"
        )
    return size


def search_of(text: str | None) -> str | None:
    """The words to look for (None: no search): one line, at most SEARCH_CHARS."""
    if text is None or not text.strip():
        return None
    words = text.strip()
    if len(words) > SEARCH_CHARS:
        raise _refuse("q", f"{len(words)} characters; search for at most {SEARCH_CHARS}")
    if any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in words):
        raise _refuse("q", "search for one line of text, without control characters")
    return words


@dataclass(frozen=True)
class CaseQuery:
    """One page of the list as a reader asks for it. `scope_*` come from who reads (never from
    the reader's filters): a contact's account, a partner engineer's queue. `reads_restricted`:
    the reader may read restricted cases' texts (U5: a member of the restricted queue, or a
    contact of the account, which is a contact's whole scope). `owner`: the reader's own cases
    only."""

    filters: CaseFilters = field(default_factory=CaseFilters)
    sort: str = DEFAULT_SORT
    descending: bool = True
    size: int = PAGE_SIZE
    search: str | None = None
    cursor: str | None = None
    owner: str | None = None
    scope_queue: str | None = None
    reads_restricted: bool = False
    leave_out: frozenset[str] = frozenset()
    """Cases a state filter must not match though their rows say so: those whose workflow
    ended from outside (terminated), which only Temporal's visibility knows."""

    def fingerprint(self) -> str:
        """What a cursor is valid for: the filters, the search and the sort."""
        said = json.dumps(
            [
                self.filters.params(),
                self.search,
                self.sort,
                self.descending,
                self.owner,
                self.scope_queue,
            ],
            sort_keys=True,
        )
        return hashlib.sha256(said.encode()).hexdigest()[:16]

    def after(self) -> tuple[Any, str] | None:
        """The last row of the previous page (its sort value and number), or None."""
        if self.cursor is None:
            return None
        return read_cursor(self.cursor, self)


def make_cursor(query: CaseQuery, value: Any, case_id: str) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    said = json.dumps({"f": query.fingerprint(), "v": value, "id": case_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(said.encode()).decode().rstrip("=")


def read_cursor(cursor: str, query: CaseQuery) -> tuple[Any, str]:
    bad = _refuse(
        "cursor",
        "not a cursor this list gave; leave it out to start from the first page, or send the "
        "next_cursor of the page before, unchanged",
    )
    if len(cursor) > MAX_CURSOR_CHARS:
        raise bad
    try:
        said = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        fingerprint, value, case_id = said["f"], said["v"], said["id"]
    except (ValueError, binascii.Error, KeyError, TypeError):
        raise bad from None
    if fingerprint != query.fingerprint():
        raise _refuse(
            "cursor",
            "this cursor belongs to another sort, filter or search; leave it out to start "
            "again from the first page",
        )
    if not isinstance(case_id, str) or not isinstance(value, str | None):
        raise bad
    if SORTS[query.sort] in _DATES and value is not None:
        try:
            return datetime.fromisoformat(value), case_id
        except ValueError:
            raise bad from None
    return value, case_id
