"""`casework show` pages the feed (E4 Show Feed): the newest entries from the case, older
pages from the database, each entry once, in order; bad page numbers are refused."""

from __future__ import annotations

import json

import pytest

from casework.domain.us_citizen import WITHHELD
from casework.store import Store
from tests.conftest import Desk, eventually
from tests.test_cli import cli, cli_env  # noqa: F401  (the fixture)
from tests.us_citizen_desk import APPROVER, open_restricted

pytestmark = pytest.mark.timeout(120)


async def test_show_pages_the_feed_newest_first(cli_env: Desk, store: Store) -> None:  # noqa: F811
    desk = cli_env
    case_id = await desk.open(priority="P3")
    await desk.until(case_id, lambda v: v.state == "in_progress")
    for i in range(70):
        await desk.act(case_id, "comment", actor="acme-alice", text=f"note {i:02d}")
    total = (await desk.view(case_id)).feed_total
    await eventually(lambda: store.feed.count(case_id) == total)

    first = await cli("show", case_id)
    assert first.exit_code == 0, first.output
    assert f"feed entries {total - 49}-{total} of {total}" in first.stdout
    assert f"older: casework show {case_id} --page 2" in first.stdout
    assert "note 69" in first.stdout and "note 10 " not in first.stdout

    pages = []
    for page in (1, 2):
        shown = await cli("show", case_id, "--page", str(page), "--output", "json")
        assert shown.exit_code == 0, shown.output
        pages.append(json.loads(shown.stdout)["feed"])
    seqs = [e["seq"] for e in pages[1] + pages[0]]
    assert seqs == list(range(total - 100 if total > 100 else 0, total))
    texts = [e["text"] for e in pages[1] + pages[0] if e["kind"] == "comment"]
    assert texts == [f"note {i:02d}" for i in range(70)][-len(texts) :]

    refused = await cli("show", case_id, "--page", "0")
    assert refused.exit_code == 2 and "--page" in refused.output


async def test_older_pages_of_a_restricted_case_are_withheld_from_outsiders(
    cli_env: Desk,  # noqa: F811
    store: Store,
) -> None:
    """U5: a page read from the database is withheld exactly as the case withholds its tail:
    an outsider sees that entries exist, not what they say nor which contact said them; the
    account's contact sees them whole."""
    desk = cli_env
    case_id = await open_restricted(desk)
    for i in range(60):
        await desk.act(case_id, "comment", actor="cyberdyne-judy", text=f"secret {i:02d}")
    total = (await desk.view(case_id, viewer=APPROVER)).feed_total
    await eventually(lambda: store.feed.count(case_id) == total)

    async def page_two(viewer: str) -> list[dict[str, str]]:
        shown = await cli("--profile", viewer, "show", case_id, "--page", "2", "--output", "json")
        assert shown.exit_code == 0, shown.output
        return [e for e in json.loads(shown.stdout)["feed"] if e["kind"] == "comment"]

    outsider = await page_two("cc-dana")  # an engineer, not of the restricted queue
    assert outsider and all(e["text"] == WITHHELD and e["actor"] == "[contact]" for e in outsider)
    contact = await page_two("cyberdyne-judy")
    assert [e["text"] for e in contact] == [f"secret {i:02d}" for i in range(len(contact))]
