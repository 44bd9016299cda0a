"""The case feed in the database (E4 Show Feed): the case appends its entries in batches through
the `record_feed` activity (run here as a worker runs it, retries included); readers page
through it in feed order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from temporalio.testing import ActivityEnvironment

from activities.feed import FeedActivities
from casework.contracts import FeedBatch, FeedRow
from casework.store import Store

AT = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
CASE = "case-000001"


def entries(*seqs: int, case_text: str = "entry") -> list[FeedRow]:
    return [
        FeedRow(
            seq=n,
            at=AT + timedelta(minutes=n),
            actor="acme-alice" if n % 2 else "cc-dana",
            kind="comment",
            text=f"{case_text} {n}",
        )
        for n in seqs
    ]


def test_a_batch_is_appended_once_however_often_it_is_retried(store: Store) -> None:
    record = FeedActivities(store).record_feed
    env = ActivityEnvironment()
    assert env.run(record, FeedBatch(case_id=CASE, entries=entries(0, 1, 2))) == 3
    assert env.run(record, FeedBatch(case_id=CASE, entries=entries(0, 1, 2))) == 0  # a retry
    overlapping = FeedBatch(case_id=CASE, entries=entries(2, 3, case_text="later"))
    assert env.run(record, overlapping) == 1, "only the entry not yet on record is new"
    assert store.feed.count(CASE) == 4
    assert [e["text"] for e in store.feed.page(CASE)] == [
        "entry 0",
        "entry 1",
        "entry 2",
        "later 3",
    ]


def test_an_entry_reads_back_as_written_with_its_time_zone(store: Store) -> None:
    """Times come back timezone-aware, as the same instant, whatever zone they were given in."""
    eastern = timezone(timedelta(hours=-5))
    refused = FeedRow(
        seq=0,
        at=datetime(2026, 3, 4, 10, 0, tzinfo=eastern),
        actor="globex-carol",
        kind="escalate_now",
        text="refused: Gold accounts are escalated by phone",
        refused=True,
    )
    plain = FeedRow(seq=1, at=AT, actor="cc-dana", kind="opened")
    ActivityEnvironment().run(
        FeedActivities(store).record_feed, FeedBatch(case_id=CASE, entries=[refused, plain])
    )
    first, second = store.feed.page(CASE)
    assert first == {
        "case_id": CASE,
        "seq": 0,
        "at": AT,
        "actor": "globex-carol",
        "kind": "escalate_now",
        "text": "refused: Gold accounts are escalated by phone",
        "refused": True,
    }
    assert first["at"].tzinfo is not None
    assert (second["text"], second["refused"]) == ("", False)


def test_pages_follow_the_feed_order_and_cases_stay_apart(store: Store) -> None:
    """Entries written out of order (batches landing late) still read in feed order; a page
    is a slice of that order; another case's feed is its own."""
    assert store.feed.append(CASE, [e.model_dump() for e in entries(*range(60, 130))]) == 70
    assert store.feed.append(CASE, [e.model_dump() for e in entries(*range(0, 60))]) == 60
    store.feed.append("case-000002", [e.model_dump() for e in entries(0)])
    assert store.feed.count(CASE) == 130 and store.feed.count("case-000002") == 1
    assert [e["seq"] for e in store.feed.page(CASE)] == list(range(50))
    assert [e["seq"] for e in store.feed.page(CASE, offset=120, limit=50)] == list(range(120, 130))
    assert store.feed.page(CASE, offset=130) == []
    assert store.feed.page("case-000003") == [] and store.feed.count("case-000003") == 0
    with pytest.raises(ValueError, match="offset and limit are counts"):
        store.feed.page(CASE, offset=-1)


def test_an_empty_batch_adds_nothing(store: Store) -> None:
    assert store.feed.append(CASE, []) == 0
    assert store.feed.count(CASE) == 0


def test_a_feed_row_refuses_a_negative_position() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        FeedRow(seq=-1, at=AT, actor="cc-dana", kind="opened")
