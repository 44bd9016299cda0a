"""The case list and the engineer's queue in a real headless Chromium (issue 26), against a
`casework api` process on the dev server: a customer finds her case among 300 by search and by
sort (her case opened on the page, 299 newer ones written as the store's rows, as each case
writes its own); an engineer's queue puts the case nearest its breach first, marks it, and
reloads itself (no script) until a case opened meanwhile shows. Screenshots of both at laptop
and phone widths go to docs/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from casework.case_pages import CaseQuery
from casework.door.queue import REFRESH_SECONDS
from casework.store import Store
from tests.api_server import ApiServer, api_server_beside, client_for
from tests.browser import chromium, page_moved
from tests.conftest import SETTLE_TIMEOUT, Desk, eventually
from tests.door_helpers import key_for

pytestmark = pytest.mark.timeout(400)

RELOAD_WITHIN = 3 * REFRESH_SECONDS + SETTLE_TIMEOUT
"""Real seconds for the queue page to reload itself (every REFRESH_SECONDS) onto a case
opened while it is shown (once the case's row is written)."""
HERS = "Firewall reboots at midnight"


@pytest.fixture
def server(
    store: Store, dev_env: WorkflowEnvironment, dev_desk: Desk, tmp_path: Path
) -> Iterator[ApiServer]:
    with api_server_beside(store, dev_env, dev_desk, tmp_path) as running:
        yield running


def newer_cases(store: Store, count: int) -> None:
    """`count` cases of Alice's account opened after hers, as their workflows write them."""
    start = datetime.now(UTC)
    for n in range(count):
        at = start + timedelta(milliseconds=n + 1)
        store.case_rows.record(
            {
                "case_id": f"case-9{n:05d}",
                "revision": 1,
                "account": "acme",
                "tier": "PLATINUM",
                "category": "support",
                "priority": ("P1", "P2", "P3")[n % 3],
                "state": "in_progress",
                "level": "L1",
                "owner": "gsc-erin",
                "queue": "gsc",
                "restricted": False,
                "breached": False,
                "due_at": at + timedelta(hours=4),
                "clock": {"kind": "24x7"},
                "opened_at": at,
                "updated_at": at,
                "subject": f"Routine question {n:03d}",
                "description": "How do I rotate the admin password?",
            }
        )


async def test_a_customer_finds_her_case_among_300_by_search_and_by_sort(
    store: Store, server: ApiServer, dev_desk: Desk
) -> None:
    async with chromium(server.url) as browser:
        await browser.sign_in(key_for(store, "acme-alice"))
        await browser.click("new-case")
        await browser.fill("product", "FortiGate")
        await browser.fill("version", "7.4.3")
        await browser.choose("priority", "P2")
        await browser.fill("subject", HERS)
        await browser.fill("description", "Since the upgrade the unit reboots at 00:00 sharp")
        await browser.click("open")
        case_id = await browser.text("#case-id")
        dev_desk.opened.append(case_id)
        await eventually(lambda: store.case_rows.page(CaseQuery()).total == 1)
        newer_cases(store, 299)

        await browser.go("/cases")
        assert (await browser.text("#case-count")).startswith("300 cases")
        assert case_id not in await browser.text("#case-table")  # 50 newer ones come first
        assert await browser.has("#next-page")
        await browser.shot("case-list")

        await browser.fill("filter-q", "MIDNIGHT")
        await browser.click("apply-filters")
        assert (await browser.text("#case-count")).startswith("1 case matches")
        assert await browser.texts("#case-table tbody td.subject") == [HERS]
        await browser.fill("filter-q", "reboots at 00:00")  # her description, too
        await browser.click("apply-filters")
        assert await browser.texts("#case-table tbody td.subject") == [HERS]

        await browser.go("/cases")
        await browser.click("sort-opened")  # newest first now: a press sorts oldest first
        rows = await browser.texts("#case-table tbody td.subject")
        assert rows[0] == HERS and len(rows) == 50
        await browser.click("next-page")
        following = await browser.texts("#case-table tbody td.subject")
        assert HERS not in following and not set(following) & set(rows)
        assert following[0] == "Routine question 049"

        await browser.go("/cases")  # on a phone the headers fold away: the form sorts too
        await browser.choose("filter-sort", "subject")
        await browser.choose("filter-order", "asc")
        await browser.click("apply-filters")
        assert (await browser.texts("#case-table tbody td.subject"))[0] == HERS

        await browser.go("/cases?sort=colour")  # a hand-edited address: said on the page
        assert "sort by one of: number, subject, priority" in await browser.text("#error")


async def test_an_engineers_queue_puts_the_nearest_breach_first_and_reloads_itself(
    store: Store, server: ApiServer, dev_desk: Desk
) -> None:
    alice = client_for(store, server, "acme-alice")
    try:

        async def open_case(subject: str, priority: str) -> str:
            body = {"product": "FortiGate", "version": "7.4.3", "priority": priority}
            answer = await alice.post(
                "/v1/cases", json=body | {"subject": subject, "description": subject}
            )
            assert answer.status_code == 200, answer.text
            return str(answer.json()["case_id"])

        later = await open_case("Question about licences", "P3")
        sooner = await open_case("Cluster down in Lyon", "P1")
        async with chromium(server.url) as browser:
            await browser.sign_in(key_for(store, "cc-dana"))

            async def queue_shown() -> list[str]:
                await browser.go("/queue")
                return list(await browser.texts("#mine tbody tr td.subject"))

            order = await eventually(
                queue_shown,
                every=0.2,
                until=lambda shown: len(shown) >= 2,
                what="both cases on Dana's queue",
                ignoring=page_moved(),
            )
            assert order[:2] == ["Cluster down in Lyon", "Question about licences"]
            first_row = await browser.text("#mine tbody tr")
            assert "breaches within the hour" in first_row
            assert "breaches within the hour" not in (await browser.texts("#mine tbody tr"))[1]
            await browser.shot("queue")

            meanwhile = await open_case("Opened while the queue is open", "P2")
            dev_desk.opened += [later, sooner, meanwhile]
            await eventually(  # no click, no navigation: the page reloads itself
                lambda: browser.text("#mine"),
                RELOAD_WITHIN,
                every=1.0,
                until=lambda mine: "Opened while the queue is open" in mine,
                what="the queue to reload itself to show the new case",
                ignoring=page_moved(),  # read as it reloads: the element went with the old page
            )
            assert (await browser.texts("#mine tbody tr td.subject"))[0] == "Cluster down in Lyon"
            await browser.click("stop-reloading")  # WCAG 2.2.1: a person may stop it
            assert "does not reload itself" in await browser.text("#queue-read")
    finally:
        await alice.aclose()


async def test_a_customer_is_told_the_queue_is_not_hers(store: Store, server: ApiServer) -> None:
    async with chromium(server.url) as browser:
        await browser.sign_in(key_for(store, "acme-alice"))
        await browser.go("/queue")
        assert "as a customer, your cases are on Your cases" in await browser.text("#no-queue")
