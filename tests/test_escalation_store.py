"""The escalation side of the database (E3, S3): the support director travels with the
directory, and an escalation's row is written whole, as often as its activity is retried."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.escalation import EscalationActivities
from casework.contracts import EscalationPlanRequest, EscalationRecord
from casework.domain.directory import Directory
from casework.domain.sla import DEFAULT_POLICY
from casework.store import Store

AT = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def record(**changes: object) -> EscalationRecord:
    fields: dict[str, object] = {
        "escalation_id": "case-000001-E1",
        "case_id": "case-000001",
        "account": "acme",
        "tier": "PLATINUM",
        "priority": "P2",
        "channel": "phone",
        "reason": "lack_of_progress",
        "raised_at": AT,
    }
    fields.update(changes)
    return EscalationRecord.model_validate(fields)


def test_an_escalation_row_is_written_whole_and_retries_change_nothing(store: Store) -> None:
    """The report counts escalations and acknowledgement times: one row per escalation."""
    activities = EscalationActivities(store, DEFAULT_POLICY)
    env = ActivityEnvironment()
    env.run(activities.record_escalation, record())
    env.run(activities.record_escalation, record())  # a retried activity
    acknowledged = record(acknowledged_at=AT + timedelta(minutes=7), acknowledged_by="em-jon")
    env.run(activities.record_escalation, acknowledged)
    [row] = store.escalations.rows("case-000001")
    assert (row["channel"], row["acknowledged_by"], row["ended_at"]) == ("phone", "em-jon", None)
    assert row["acknowledged_at"].replace(tzinfo=UTC) - row["raised_at"].replace(
        tzinfo=UTC
    ) == timedelta(minutes=7)


def test_the_support_director_goes_with_the_directory(store: Store, directory: Directory) -> None:
    """E3: loading a directory without a support director leaves none behind; the ladder then
    ends with the rota."""
    assert store.directory.support_director() is not None
    activities = EscalationActivities(store, DEFAULT_POLICY)
    plan = ActivityEnvironment().run(
        activities.plan_escalation, EscalationPlanRequest(case_id="case-000001", at=AT)
    )
    # 15:00 UTC: Jon's shift (12:00-24:00), then the rest of the rota, then the director
    assert [s.id for s in plan.ladder] == ["em-jon", "em-ines", "dir-maya"]
    assert plan.has_catch_all
    assert plan.acknowledge_within == timedelta(minutes=15)

    store.directory.replace(directory.model_copy(update={"support_director": None}))
    assert store.directory.support_director() is None
    plan = ActivityEnvironment().run(
        activities.plan_escalation, EscalationPlanRequest(case_id="case-000001", at=AT)
    )
    assert [s.id for s in plan.ladder] == ["em-jon", "em-ines"]
    assert not plan.has_catch_all


def test_a_database_from_before_escalations_gets_the_new_tables(tmp_path: Path) -> None:
    """An existing state folder keeps working: the tables are added on open."""
    path = tmp_path / "old.db"
    sqlite3.connect(path).execute("CREATE TABLE products (name VARCHAR(200) PRIMARY KEY)").close()
    store = Store(f"sqlite:///{path}")
    assert store.escalations.rows() == [] and store.directory.support_director() is None
    store.dispose()


def test_an_older_write_never_clears_an_acknowledgement_or_an_end(store: Store) -> None:
    """The case's writes run concurrently: an acknowledgement or an end, once recorded, stays
    even when the escalation's first write lands after them."""
    ended = record(
        acknowledged_at=AT + timedelta(minutes=3),
        acknowledged_by="em-ines",
        ended_at=AT + timedelta(hours=1),
        priority="P1",
    )
    store.escalations.record(ended.model_dump())
    store.escalations.record(record().model_dump())  # the first write, late
    [row] = store.escalations.rows("case-000001")
    assert (row["acknowledged_by"], row["ended_at"] is not None) == ("em-ines", True)
