"""A feed that cannot outgrow a case (E4 Show Feed).

The whole feed is kept in the database; the case carries only its tail. A chatty case with
600 entries of the longest text an action takes (12 MB of feed; FEED_ENTRIES=3000 for a longer
run) rolls over several times, still takes actions, and every entry can be read back,
in order, page by page.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from casework.domain.models import CaseView
from casework.store import Store
from tests.conftest import Desk, as_person, eventually
from tests.waiting import TIME_SCALE
from workflows.case.feed import FEED_TAIL_CHARS, FEED_TAIL_ENTRIES

LONGEST = 20_000
"""The longest text an action takes (LongText)."""
ENTRIES = int(os.environ.get("FEED_ENTRIES", "600"))
WAVE = 50
FLOOD_TIMEOUT = 120.0 * TIME_SCALE
"""Real seconds for the case and the database to take a wave or a flood of the longest
comments (several roll-overs on a loaded 2-core machine)."""


def text_of(i: int) -> str:
    head = f"comment {i:05d} "
    return head + "x" * (LONGEST - len(head))


class FeedReader:
    """Reads a case's feed from the database as it grows, each entry once."""

    def __init__(self, store: Store, case_id: str) -> None:
        self.store, self.case_id = store, case_id
        self.entries: list[dict[str, Any]] = []

    def comments(self) -> list[dict[str, Any]]:
        self.entries.extend(all_entries(self.store, self.case_id, start=len(self.entries)))
        return [e for e in self.entries if e["kind"] == "comment"]

    async def taken(self, desk: Desk, sent: int) -> list[str]:
        """Once the case has recorded every comment sent so far (taken, or refused while it
        rolled over) and the database has caught up: the texts taken."""

        async def recorded() -> list[str] | None:
            view = await desk.view(self.case_id)
            if self.store.feed.count(self.case_id) == view.feed_total >= sent:
                comments = self.comments()
                if len(comments) >= sent:
                    return [e["text"] for e in comments if not e["refused"]]
            return None

        taken: list[str] = await eventually(
            recorded,
            FLOOD_TIMEOUT,
            every=0.1,
            what=f"{self.case_id} to record the {sent} comments sent",
        )
        return taken


@pytest.mark.timeout(300)
async def test_a_chatty_case_rolls_over_and_keeps_every_entry(desk: Desk, store: Store) -> None:
    desk.case_options = {"index_search_attributes": False, "continue_as_new_after_events": 400}
    case_id = await desk.open(priority="P3")
    opened = await desk.until(case_id, lambda v: v.state == "in_progress")
    handle = desk.case(case_id)
    first_run = (await handle.describe()).run_id

    # The customer and the engineer post through the Web UI's `act` form, WAVE comments at a
    # time as fast as the server takes them, each as long as a comment may be; what the case
    # refuses while it rolls over ("send it again") they send again. (In waves: a thousand
    # 20 KB signals in one workflow task can outlast the SDK's fixed 2 s deadlock detector on a
    # starved machine, and a worker never recovers a run it declared deadlocked; a flood of
    # short ones is test_a_flood_of_signals_never_wedges_the_case.)
    unsent, sent, reader = [text_of(i) for i in range(ENTRIES)], 0, FeedReader(store, case_id)
    while unsent:
        for start in range(0, len(unsent), WAVE):
            for i, text in enumerate(unsent[start : start + WAVE], start):
                actor = "acme-alice" if i % 2 == 0 else "cc-dana"
                with as_person(actor):
                    await handle.signal("act", {"action": "comment", "actor": actor, "text": text})
            sent += len(unsent[start : start + WAVE])
            taken = await reader.taken(desk, sent)
        unsent = sorted(set(unsent) - set(taken))

    # It still takes actions, and answers them at once (S2: the engineer's first comment
    # was the first response already).
    result = await desk.act(case_id, "respond", actor="cc-dana", text="Read them all")
    assert result.message == "response recorded"
    view: CaseView = await desk.view(case_id)
    assert (await handle.describe()).run_id != first_run

    entries = all_entries(store, case_id)
    assert [e["seq"] for e in entries] == list(range(len(entries))), "no gap, no double"
    comments = [e["text"] for e in entries if e["kind"] == "comment" and not e["refused"]]
    assert sorted(comments) == [text_of(i) for i in range(ENTRIES)], "each one, once"
    rolled = sum(1 for e in entries if e["kind"] == "continued")
    assert rolled >= 3, f"rolled over {rolled} times"
    assert entries[0]["kind"] == "opened" and len(entries) >= ENTRIES + rolled

    # The case carries a tail, the newest entries, and says how long the whole feed is.
    await eventually(lambda: store.feed.count(case_id) == view.feed_total)
    assert view.feed_total == store.feed.count(case_id)
    assert 1 <= len(view.feed) <= FEED_TAIL_ENTRIES
    assert sum(len(e.text) for e in view.feed) <= FEED_TAIL_CHARS + LONGEST
    assert view.feed[-1].kind == "respond" and view.feed[-1].seq == view.feed_total - 1
    assert [e["kind"] for e in entries].count("first_response") == 1
    assert view.feed[0].seq == view.feed_total - len(view.feed)
    assert view.owner == opened.owner and view.sla.responded_at is not None


def all_entries(
    store: Store, case_id: str, page: int = 100, start: int = 0
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        batch = store.feed.page(case_id, offset=start + len(rows), limit=page)
        rows.extend(batch)
        if len(batch) < page:
            return rows


async def test_a_flood_of_signals_never_wedges_the_case(desk: Desk, store: Store) -> None:
    """E4: hundreds of the longest comments through the Web UI's `act` signal as fast as the
    server takes them: the case rolls over all the same, what it could not set aside while
    rolling over is refused on the feed (send it again), and nothing is lost or doubled."""
    desk.case_options = {"index_search_attributes": False, "continue_as_new_after_events": 200}
    case_id = await desk.open(priority="P3")
    await desk.until(case_id, lambda v: v.state == "in_progress")
    handle = desk.case(case_id)
    first_run = (await handle.describe()).run_id
    flood = 300
    for i in range(flood):
        with as_person("acme-alice"):
            await handle.signal(
                "act", {"action": "comment", "actor": "acme-alice", "text": text_of(i)}
            )

    async def counted() -> bool:
        view = await desk.view(case_id)
        entries = all_entries(store, case_id)
        comments = [e for e in entries if e["kind"] == "comment"]
        return len(comments) == flood and view.feed_total == len(entries)

    await eventually(counted, FLOOD_TIMEOUT, every=0.2, what="the flood to settle")
    entries = all_entries(store, case_id)
    comments = [e for e in entries if e["kind"] == "comment"]
    taken = [e["text"] for e in comments if not e["refused"]]
    refused = [e for e in comments if e["refused"]]
    assert len(taken) + len(refused) == flood and taken == sorted(taken)
    assert all("rolling its history over" in e["text"] for e in refused)
    assert [e["seq"] for e in entries] == list(range(len(entries)))
    assert (await handle.describe()).run_id != first_run
    result = await desk.act(case_id, "comment", actor="acme-alice", text="still there?")
    assert result.message == "comment added"
