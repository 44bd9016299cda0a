"""A feed that cannot outgrow a case (E4 Show Feed).

The whole feed is kept in the database; the case carries only its tail. A chatty case with
thousands of entries of the longest text an action takes rolls over several times, still
takes actions, and every entry can be read back, in order, page by page.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from casework.domain.models import CaseView
from casework.store import Store
from tests.conftest import Desk, eventually
from workflows.case.feed import FEED_TAIL_CHARS, FEED_TAIL_ENTRIES

LONGEST = 20_000
"""The longest text an action takes (LongText)."""
ENTRIES = 2_000


def text_of(i: int) -> str:
    head = f"comment {i:05d} "
    return head + "x" * (LONGEST - len(head))


async def _signal_all(handle: WorkflowHandle[Any, Any], first: int, last: int) -> None:
    for i in range(first, last):
        actor = "acme-alice" if i % 2 == 0 else "cc-dana"
        await handle.signal("act", {"action": "comment", "actor": actor, "text": text_of(i)})


async def test_a_chatty_case_rolls_over_and_keeps_every_entry(desk: Desk, store: Store) -> None:
    desk.case_options = {"index_search_attributes": False, "continue_as_new_after_events": 400}
    case_id = await desk.open(priority="P3")
    opened = await desk.until(case_id, lambda v: v.state == "in_progress")
    handle = desk.case(case_id)
    first_run = (await handle.describe()).run_id

    # The customer and the engineer at their keyboards (the Web UI's `act` form), each
    # comment as long as a comment may be.
    await _signal_all(handle, 0, ENTRIES)

    def commented() -> int:
        return sum(1 for e in all_entries(store, case_id) if e["kind"] == "comment")

    await eventually(lambda: commented() == ENTRIES, timeout=240)

    # It still takes actions, and answers them at once.
    result = await desk.act(case_id, "respond", actor="cc-dana", text="Read them all")
    assert "clock stopped" in result.message
    view: CaseView = await desk.view(case_id)
    assert (await handle.describe()).run_id != first_run

    entries = all_entries(store, case_id)
    assert [e["seq"] for e in entries] == list(range(len(entries))), "no gap, no double"
    comments = [e["text"] for e in entries if e["kind"] == "comment"]
    assert comments == [text_of(i) for i in range(ENTRIES)]
    rolled = sum(1 for e in entries if e["kind"] == "continued")
    assert rolled >= 3, f"rolled over {rolled} times"
    assert entries[0]["kind"] == "opened" and len(entries) >= ENTRIES + rolled

    # The case carries a tail, the newest entries, and says how long the whole feed is.
    await eventually(lambda: store.feed.count(case_id) == view.feed_total)
    assert view.feed_total == store.feed.count(case_id)
    assert 1 <= len(view.feed) <= FEED_TAIL_ENTRIES
    assert sum(len(e.text) for e in view.feed) <= FEED_TAIL_CHARS + LONGEST
    assert view.feed[-1].kind == "first_response" and view.feed[-1].seq == view.feed_total - 1
    assert view.feed[0].seq == view.feed_total - len(view.feed)
    assert view.owner == opened.owner and view.sla.responded_at is not None


def all_entries(store: Store, case_id: str, page: int = 100) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        batch = store.feed.page(case_id, offset=len(rows), limit=page)
        rows.extend(batch)
        if len(batch) < page:
            return rows
