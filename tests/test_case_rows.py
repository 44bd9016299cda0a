"""The case list's rows in the store (issue 26): paged with a cursor that neither loses nor
repeats a case while new ones open, sorted by every column the list shows, filtered as
`casework list` filters, searched in subjects and descriptions, and U5: a restricted case's
texts sealed at rest, never matched or shown for a reader outside its queue. On SQLite, and on
PostgreSQL with `--db postgres` (or `both`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from casework.case_list import CaseFilters
from casework.case_pages import BadListParameter, CaseQuery, page_size_of, search_of, sort_of
from casework.domain.us_citizen import WITHHELD
from casework.store import Store
from casework.store.tables import case_rows

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def row(n: int, **overrides: Any) -> dict[str, Any]:
    at = T0 + timedelta(minutes=n)
    values: dict[str, Any] = {
        "case_id": f"case-{n:06d}",
        "revision": 1,
        "account": "acme",
        "tier": "GOLD",
        "category": "support",
        "priority": ("P1", "P2", "P3")[n % 3],
        "state": "in_progress",
        "level": "L1",
        "owner": "gsc-erin",
        "queue": "gsc",
        "restricted": False,
        "breached": False,
        "due_at": at + timedelta(hours=n % 5),
        "responded_at": None,
        "clock": {"kind": "24x7"},
        "opened_at": at,
        "updated_at": at,
        "subject": f"subject {n:03d}",
        "description": f"description of case {n}",
    }
    return values | overrides


def every_page(store: Store, query: CaseQuery) -> list[str]:
    seen: list[str] = []
    while True:
        page = store.case_rows.page(query)
        seen += [r["case_id"] for r in page.rows]
        if page.next_cursor is None:
            return seen
        query = CaseQuery(**{**query.__dict__, "cursor": page.next_cursor})


def test_pages_neither_lose_nor_repeat_a_case_while_new_ones_open(store: Store) -> None:
    for n in range(1, 26):
        store.case_rows.record(row(n))
    query = CaseQuery(size=10)
    first = store.case_rows.page(query)
    assert first.total == 25 and len(first.rows) == 10
    assert first.rows[0]["case_id"] == "case-000025"  # newest first by default
    for n in range(26, 31):  # opened while the reader is on page one
        store.case_rows.record(row(n))
    rest = every_page(store, CaseQuery(**{**query.__dict__, "cursor": first.next_cursor}))
    listed = [r["case_id"] for r in first.rows] + rest
    assert listed == [f"case-{n:06d}" for n in range(25, 0, -1)]


@pytest.mark.parametrize("sort", ["number", "subject", "priority", "state", "due", "opened"])
@pytest.mark.parametrize("descending", [False, True])
def test_every_shown_column_sorts_both_ways_across_pages(
    store: Store, sort: str, descending: bool
) -> None:
    for n in range(1, 13):
        store.case_rows.record(row(n, state=("queued", "in_progress", "resolved")[n % 3]))
    column = {"number": "case_id", "subject": "subject_key", "due": "due_at"}.get(sort, sort)
    column = {"opened": "opened_at"}.get(column, column)
    listed = every_page(store, CaseQuery(sort=sort, descending=descending, size=5))
    with store.engine.connect() as conn:
        values = dict(conn.execute(select(case_rows.c.case_id, case_rows.c[column])).all())
    expected = sorted(values, key=lambda c: (values[c], c), reverse=descending)
    assert listed == expected


def test_filters_are_those_of_casework_list(store: Store) -> None:
    store.case_rows.record(row(1, priority="P1", tier="PLATINUM", account="globex"))
    store.case_rows.record(row(2, breached=True, state="waiting_on_customer"))
    store.case_rows.record(row(3, category="security_vulnerability", state="closed", priority="P3"))
    cases = store.case_rows.page

    def ids(**filters: Any) -> list[str]:
        return [r["case_id"] for r in cases(CaseQuery(filters=CaseFilters(**filters))).rows]

    assert ids(account="globex") == ["case-000001"]
    assert ids(tier="platinum") == ["case-000001"]
    assert ids(breached=True) == ["case-000002"]
    assert ids(state="Waiting_On_Customer") == ["case-000002"]
    assert ids(security=True) == ["case-000003"]
    assert ids(state="closed") == ["case-000003"]
    assert ids(priority="p1") == ["case-000001"]


def test_search_finds_subjects_descriptions_and_numbers_in_any_case(store: Store) -> None:
    store.case_rows.record(row(1, subject="VPN tunnel drops", description="since 7.4.3"))
    store.case_rows.record(row(2, subject="HA failover", description="IKE 50% of the_time"))
    store.case_rows.record(row(3, subject=None, description="Licence expired\nmore"))

    def found(words: str) -> list[str]:
        return [r["case_id"] for r in store.case_rows.page(CaseQuery(search=words)).rows]

    assert found("vpn TUNNEL") == ["case-000001"]
    assert found("7.4.3") == ["case-000001"]
    assert found("50%") == ["case-000002"]  # LIKE's wildcards are searched as typed
    assert found("_") == ["case-000002"]
    assert found("case-000003") == ["case-000003"]
    page = store.case_rows.page(CaseQuery(search="licence"))
    assert page.rows[0]["subject"] == "Licence expired"  # an integration that sent none


def test_a_restricted_case_is_sealed_at_rest_and_withheld_from_a_non_member(
    store: Store,
) -> None:
    secret = row(1, restricted=True, queue="us-citizen", subject="Classified VPN outage")
    store.case_rows.record({**secret, "description": "the SCADA enclave drops"})
    store.case_rows.record(row(2, subject="Ordinary outage"))
    with store.engine.connect() as conn:
        stored = conn.execute(select(case_rows).where(case_rows.c.restricted)).mappings().one()
    assert "Classified" not in stored["subject"] and "SCADA" not in stored["description"]
    outsider = store.case_rows.page(CaseQuery(search="outage"))
    assert [r["case_id"] for r in outsider.rows] == ["case-000002"]
    assert store.case_rows.page(CaseQuery(search="scada")).total == 0
    listed = {r["case_id"]: r["subject"] for r in store.case_rows.page(CaseQuery()).rows}
    assert listed["case-000001"] == WITHHELD
    member = CaseQuery(search="scada", reads_restricted=True)
    assert [r["subject"] for r in store.case_rows.page(member).rows] == ["Classified VPN outage"]


def test_a_later_write_keeps_the_texts_and_an_older_one_loses(store: Store) -> None:
    store.case_rows.record(row(1, revision=2))
    assert not store.case_rows.record(row(1, revision=1, state="closed"))
    store.case_rows.record(row(1, revision=3, state="resolved", subject=None, description=None))
    (only,) = store.case_rows.page(CaseQuery(search="subject 001")).rows
    assert only["state"] == "resolved"


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda: sort_of("colour", None), "sort by one of: number, subject"),
        (lambda: sort_of("due", "upward"), "write asc or desc"),
        (lambda: page_size_of(0), "a page holds 1 to 1000"),
        (lambda: page_size_of(1001), "a page holds 1 to 1000"),
        (lambda: search_of("x" * 201), "at most 200"),
        (lambda: search_of("a\nb"), "one line"),
    ],
)
def test_bad_list_parameters_say_what_to_write(call: Any, says: str) -> None:
    with pytest.raises(BadListParameter) as refused:
        call()
    assert says in str(refused.value)


def test_a_cursor_not_given_or_for_other_filters_is_refused(store: Store) -> None:
    for n in range(1, 5):
        store.case_rows.record(row(n))
    cursor = store.case_rows.page(CaseQuery(size=2)).next_cursor
    assert cursor
    with pytest.raises(BadListParameter, match="another sort, filter or search"):
        store.case_rows.page(CaseQuery(size=2, cursor=cursor, sort="number"))
    with pytest.raises(BadListParameter, match="not a cursor this list gave"):
        store.case_rows.page(CaseQuery(size=2, cursor="garbage!!"))
