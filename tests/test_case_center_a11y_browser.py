"""The Case Center page in a real headless Chromium (tests/browser.py), issue 26: a current
axe-core (tests/axe_check.py) finds no violation on any page a customer, an engineer or a
stranger reaches; focus is visible (the outline at least 3:1 against the page) and the skip link
is the first stop; and a comment typed while the session ends survives: signing in again
brings the form back filled."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from casework.store import Store
from tests.api_server import ApiServer, api_server_beside
from tests.axe_check import axe_version, contrast, violations
from tests.browser import Browser, chromium
from tests.conftest import Desk
from tests.door_helpers import key_for
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(300)
WORDS = "The HA pair split after the 7.4.3 upgrade; both units claim primary"


@pytest.fixture
def server(
    store: Store, dev_env: WorkflowEnvironment, dev_desk: Desk, tmp_path: Path
) -> Iterator[ApiServer]:
    with api_server_beside(store, dev_env, dev_desk, tmp_path) as running:
        yield running


async def no_violations(browser: Browser, page: str, seen: dict[str, int]) -> None:
    found = await violations(browser)
    seen[page] = len(found)
    assert not found, f"axe-core {axe_version()} on {page}: {found}"


async def open_every_form(browser: Browser) -> None:
    await browser._run(
        lambda: browser.driver.execute_script(
            "document.querySelectorAll('details').forEach(d => d.open = true)"
        )
    )


async def test_every_page_passes_axe_focus_shows_and_a_draft_survives_the_session(
    store: Store, server: ApiServer, dev_desk: Desk
) -> None:
    alice = key_for(store, "acme-alice")
    seen: dict[str, int] = {}
    async with chromium(server.url) as browser:
        await browser.go("/signin")
        await no_violations(browser, "signin", seen)
        await browser.sign_in(alice)
        await no_violations(browser, "cases", seen)

        # the skip link is the first stop, and focus is visible: >= 3:1 against the page
        def first_stop() -> tuple[str, str, str]:
            from selenium.webdriver.common.keys import Keys

            browser.driver.find_element("tag name", "body").send_keys(Keys.TAB)
            return browser.driver.execute_script(
                "const e = document.activeElement, s = getComputedStyle(e);"
                "return [e.id, s.outlineColor, s.outlineStyle];"
            )

        element, outline, style = await browser._run(first_stop)
        assert element == "skip" and style == "solid", (element, style)
        background = await browser._run(
            lambda: browser.driver.execute_script(
                "return getComputedStyle(document.body).backgroundColor"
            )
        )
        assert contrast(outline, background) >= 3, (outline, background)

        await browser.click("new-case")
        await no_violations(browser, "new case", seen)
        await browser.fill("product", "FortiGate")
        await browser.fill("version", "7.4.3")
        await browser.choose("priority", "P2")
        await browser.fill("subject", "HA pair split")
        await browser.fill("description", "HA pair split after upgrade")
        await browser.click("open")
        case_id = await browser.text("#case-id")
        dev_desk.opened.append(case_id)
        await open_every_form(browser)  # Escalate Now's button and the file field are drawn
        assert await browser.has("label[for=attach-file]")
        await no_violations(browser, "case (P2, every form open)", seen)
        await browser.go("/no/such/page")
        await no_violations(browser, "not found", seen)

        # the session ends while a comment is being typed: nothing lost
        await browser.go(f"/cases/{case_id}")
        await browser.open_details("do-comment")
        await browser.fill("comment-text", WORDS)
        store.api_keys.revoke(alice.split("_")[1], datetime.now(UTC))
        await browser.click("submit-comment")
        assert await browser.path() == "/signin" and await browser.has("#kept")
        await no_violations(browser, "signin (draft kept)", seen)
        await browser.sign_in(key_for(store, "acme-alice"))
        assert await browser.path() == f"/cases/{case_id}"
        kept = await browser._run(
            lambda: browser.driver.find_element("id", "comment-text").get_attribute("value")
        )
        assert kept == WORDS
        await browser.click("submit-comment")

        async def feed() -> str:
            await browser.go(f"/cases/{case_id}")
            return str(await browser.text("#feed"))

        await eventually(  # the comment reaches the feed (the engine, a moment later)
            feed, every=0.2, until=lambda text: WORDS in text, what="the comment on the feed"
        )

        # an engineer's day: the list with a search and the queue that reloads itself
        await browser.sign_out()
        await browser.sign_in(key_for(store, "cc-dana"))
        await browser.go("/cases?q=HA+pair&sort=due&order=asc")
        await no_violations(browser, "cases (searched, sorted)", seen)
        await browser.go("/queue")
        await no_violations(browser, "queue", seen)
    print(f"axe-core {axe_version()} violations per page: {seen}")
