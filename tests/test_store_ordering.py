"""Retried and late writes: every idempotent write is the database's own upsert with a guard, so
an activity retried after a newer write of the same thing (the case's side effects run
concurrently) never wins over it.

Each test runs on SQLite, and on PostgreSQL with `--db postgres` (or `both`): a database of its
own on the throwaway server the tests start (tests/postgres_cluster.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from casework.domain.directory import Directory
from casework.store import Store
from casework.store.dialect import insert_or_nothing, insert_or_update
from casework.store.tables import log_approvals
from tests.conftest import TEST_RING

AT = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
CASE = "case-000001"


@pytest.fixture
def store(db_url: str, directory: Directory) -> Iterator[Store]:
    url = db_url
    store = Store(url, TEST_RING)  # a case of no realm on record: its PR is sealed (U5)
    store.directory.replace(directory)
    yield store
    store.dispose()


def test_a_late_older_assignment_does_not_take_the_case_back(store: Store) -> None:
    """E1: the L2 engineer owns the case once assigned; the L1 routing's retry, landing later,
    is recorded as released when the L2 assignment was made and returns the first answer."""
    tracker = store.tracker
    assert tracker.record_assignment(f"{CASE}:L1:1", CASE, "gsc-erin", "L1", AT) == "gsc-erin"
    later = AT + timedelta(hours=2)
    assert tracker.record_assignment(f"{CASE}:L2:1", CASE, "gsc-grace", "L2", later) == "gsc-grace"
    assert tracker.open_case_counts() == {"gsc-grace": 1}

    retried = tracker.record_assignment(f"{CASE}:L1:1", CASE, "cc-dana", "L1", AT)
    assert retried == "gsc-erin", "a retry gets the first answer, whoever it names"
    late_first_write = tracker.record_assignment(
        f"{CASE}:L1:2", CASE, "cc-dana", "L1", AT + timedelta(hours=1)
    )
    assert late_first_write == "cc-dana"
    assert tracker.open_case_counts() == {"gsc-grace": 1}, "the newer owner keeps the case"


def escalation(**changes: Any) -> dict[str, Any]:
    return {
        "escalation_id": f"{CASE}-E1",
        "case_id": CASE,
        "account": "acme",
        "tier": "PLATINUM",
        "priority": "P2",
        "channel": "online",
        "reason": "lack_of_progress",
        "raised_at": AT,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "ended_at": None,
        **changes,
    }


def test_a_late_raise_of_an_escalation_changes_nothing_of_its_later_life(store: Store) -> None:
    """E3: the write that acknowledged the escalation (after a priority change to P1) stays
    whole when the first write, still saying P2, lands after it."""
    acknowledged = escalation(
        priority="P1", acknowledged_at=AT + timedelta(minutes=4), acknowledged_by="em-jon"
    )
    store.escalations.record(acknowledged)
    store.escalations.record(escalation())
    [row] = store.escalations.rows(CASE)
    assert (row["priority"], row["acknowledged_by"]) == ("P1", "em-jon")

    ended = {**acknowledged, "ended_at": AT + timedelta(hours=1)}
    store.escalations.record(ended)
    store.escalations.record(acknowledged)  # the acknowledgement's retry, late
    [row] = store.escalations.rows(CASE)
    assert row["ended_at"] == AT + timedelta(hours=1)


def test_a_retried_notification_keeps_the_first_write(store: Store) -> None:
    fields = {"case_id": CASE, "recipient_kind": "contact", "recipient_id": "acme-alice"}
    assert store.outbox.add("k", subject="s", body="first", created_at=AT, **fields)
    assert not store.outbox.add("k", subject="s", body="second", created_at=AT, **fields)
    assert [n["body"] for n in store.outbox.rows(CASE)] == ["first"]


def test_the_same_revision_written_again_is_a_no_op_that_still_reports_a_write(
    store: Store,
) -> None:
    """A retried case-facts write of the revision on record rewrites it (nothing changes); an
    older revision is refused by the database."""
    facts = {
        "case_id": CASE,
        "revision": 4,
        "account": "acme",
        "tier": "PLATINUM",
        "priority": "P1",
        "category": "support",
        "opened_at": AT,
        "due_at": AT + timedelta(minutes=15),
    }
    assert store.reporting.record_case_facts(facts)
    assert store.reporting.record_case_facts(facts)
    assert not store.reporting.record_case_facts({**facts, "revision": 3, "priority": "P3"})
    [row] = store.reporting.cases_opened(AT, AT + timedelta(days=1))
    assert (row["revision"], row["priority"]) == (4, "P1")


def test_a_referral_and_a_problem_report_are_one_per_request(store: Store) -> None:
    first, created = store.intake.record_referral(
        "req-1", "soylent", "soylent-sam", "northwind-it", "web", AT
    )
    again, created_again = store.intake.record_referral(
        "req-1", "soylent", "soylent-sam", "northwind-it", "phone", AT + timedelta(hours=1)
    )
    assert (created, created_again, again) == (True, False, first)
    pr = store.tracker.file_problem_report("k", CASE, "crash", "gec-hugo", AT)
    assert store.tracker.file_problem_report("k", CASE, "crash", "gec-hugo", AT) == pr
    assert [p["id"] for p in store.tracker.problem_reports(CASE)] == [pr]


class Recording:
    """A connection of `dialect` that keeps what it is asked to run instead of running it."""

    def __init__(self, dialect: str) -> None:
        self.dialect = SimpleNamespace(name=dialect)
        self.statements: list[Any] = []
        self.parameters: list[Any] = []

    def execute(self, statement: Any, parameters: Any = None) -> None:
        self.statements.append(statement)
        self.parameters.append(parameters)


@pytest.mark.parametrize(
    ("dialect", "kind"), [("sqlite", sqlite.Insert), ("postgresql", postgresql.Insert)]
)
def test_the_upsert_is_the_databases_own(dialect: str, kind: type) -> None:
    """One helper writes each dialect's INSERT; on PostgreSQL the guard is the same SQL."""
    conn: Any = Recording(dialect)
    insert_or_update(
        conn,
        log_approvals,
        {"request_id": "r", "case_id": "c", "logs": [], "status": "pending"},
        key=[log_approvals.c.request_id],
        changes=lambda new: {"status": new.status},
        where=lambda _new: log_approvals.c.status == "pending",
    )
    insert_or_nothing(conn, log_approvals, {"request_id": "r"}, key=["request_id"])
    guarded, kept = conn.statements
    assert isinstance(guarded, kind) and isinstance(kept, kind)
    on = postgresql.dialect() if dialect == "postgresql" else sqlite.dialect()
    sql = str(guarded.compile(dialect=on))
    assert "ON CONFLICT (request_id) DO UPDATE SET status = excluded.status" in sql
    assert "WHERE log_approvals.status = " in sql
    assert "ON CONFLICT (request_id) DO NOTHING" in str(kept.compile(dialect=on))
    assert conn.parameters[1] == {"request_id": "r"}  # the row, as parameters of one shape


def test_another_database_is_refused_by_name() -> None:
    conn: Any = Recording("mysql")
    with pytest.raises(NotImplementedError, match="SQLite or PostgreSQL, not mysql"):
        insert_or_nothing(conn, log_approvals, {"request_id": "r"})


def test_rows_written_at_once_keep_the_first_write_of_each_key(store: Store) -> None:
    """One statement of many rows (a feed batch): the rows already on record are left as they
    were and not counted. Rows of several shapes (an optional column given for some) are
    refused, not written with the first row's columns only."""
    engine = store.outbox.engine
    first = {"request_id": "r-1", "case_id": "c", "logs": [], "status": "pending"}
    with engine.begin() as conn:
        insert_or_nothing(conn, log_approvals, first, key=["request_id"])
    rows = [
        {**first, "status": "approved"},  # on record: left as it was
        {"request_id": "r-2", "case_id": "c", "logs": [], "status": "pending"},
        {"request_id": "r-3", "case_id": "c", "logs": ["a.log"], "status": "pending"},
    ]
    returning = [log_approvals.c.request_id]
    with engine.begin() as conn:
        added = insert_or_nothing(
            conn, log_approvals, rows, key=["request_id"], returning=returning
        )
        assert sorted(r.request_id for r in added.all()) == ["r-2", "r-3"]
        shapes = [{"request_id": "r-4", "case_id": "c", "logs": [], "status": "pending"}]
        shapes.append({**shapes[0], "request_id": "r-5", "decided_by": "acme-alice"})
        with pytest.raises(ValueError, match="rows of several shapes for log_approvals"):
            insert_or_nothing(conn, log_approvals, shapes, key=["request_id"])
        kept = conn.execute(log_approvals.select().order_by(log_approvals.c.request_id)).all()
    assert [(r.request_id, r.status) for r in kept] == [
        ("r-1", "pending"),
        ("r-2", "pending"),
        ("r-3", "pending"),
    ]
