"""The Case Center page in a real headless Chromium (tests/browser.py), issue 26: the SLA clock
falls while nobody touches the case (each load reads it again, at the door's clock), and after
signing out, Back shows the sign-in page, never the case (its pages are `no-store`). The
`chromium` helper fails a test whose pages broke their Content-Security-Policy."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from casework.store import Store
from tests.api_server import ApiServer, api_server_beside
from tests.browser import chromium
from tests.conftest import Desk
from tests.door_helpers import key_for

pytestmark = pytest.mark.timeout(300)

DESCRIPTION = "Firewall policy push stalls at 40 percent"


@pytest.fixture
def server(
    store: Store, dev_env: WorkflowEnvironment, dev_desk: Desk, tmp_path: Path
) -> Iterator[ApiServer]:
    with api_server_beside(store, dev_env, dev_desk, tmp_path) as running:
        yield running


def minutes_left(card: str) -> int:
    found = re.search(r"\b(?:(\d+)h)? ?(?:(\d+)m)? left", card)
    assert found and any(found.groups()), card
    return int(found.group(1) or 0) * 60 + int(found.group(2) or 0)


async def test_the_clock_is_read_at_each_load_and_back_after_sign_out_shows_no_case(
    store: Store, server: ApiServer, dev_desk: Desk
) -> None:
    alice = key_for(store, "acme-alice")
    async with chromium(server.url) as browser:
        await browser.sign_in(alice)
        await browser.click("new-case")
        await browser.fill("product", "FortiGate")
        await browser.fill("version", "7.4.3")
        await browser.choose("priority", "P2")
        await browser.fill("subject", "Firewall drops VPN sessions")
        await browser.fill("description", DESCRIPTION)
        await browser.click("open")
        case_id = await browser.text("#case-id")
        dev_desk.opened.append(case_id)
        page = f"/cases/{case_id}"

        # S2: the time left is due - now at each load, though nobody touched the case
        card = await browser.text("#sla-clock")
        assert minutes_left(card) == 60, card  # a P2: one hour, rounded up to the minute
        source = await browser.source()
        first = re.search(r'id="sla-read-at" datetime="([^"]+)"', source)
        assert first, source
        await browser.go(page)
        again = re.search(r'id="sla-read-at" datetime="([^"]+)"', await browser.source())
        assert again and datetime.fromisoformat(again[1]) > datetime.fromisoformat(first[1])

        # no-store: after signing out, Back asks the door again, which asks for a sign-in
        await browser.sign_out()
        assert await browser.path() == "/signin"
        await browser.back()
        assert await browser.path() == "/signin", "Back showed a signed-in page"
        assert DESCRIPTION not in await browser.source()
