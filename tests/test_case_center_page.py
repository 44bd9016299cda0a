"""The Case Center web page (issue 13) in a real headless Chromium (tests/browser.py): a
customer and engineers work a case from the page against a `casework api` process on the dev
server; on a US Citizen Support case a customer opens, comments, escalates, attaches a log,
approves sharing it and closes while the restricted queue's engineers take the other side, and
a non-member sees the items withheld exactly as the engine withholds them (U5). The main pages
are saved as screenshots under docs/screenshots/ at laptop and phone widths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from casework.store import Store
from tests.api_server import ApiServer, api_server_beside
from tests.browser import PHONE, Browser, chromium
from tests.cli_door import serving_door
from tests.conftest import Desk, target_of
from tests.door_helpers import key_for
from tests.us_citizen_desk import APPROVER, skip_to_business_hours, until
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def server(
    store: Store, dev_env: WorkflowEnvironment, dev_desk: Desk, tmp_path: Path
) -> Iterator[ApiServer]:
    with api_server_beside(store, dev_env, dev_desk, tmp_path) as running:
        yield running


async def eventually_on_page(browser: Browser, path: str, css: str, words: str) -> str:
    """Reload `path` until the element `css` says `words` (the engine routes, visibility
    indexes: a moment after an action)."""

    async def said() -> str:
        await browser.go(path)
        return await browser.text(css) if await browser.has(css) else ""

    text: str = await eventually(
        said, every=0.2, until=lambda text: words in text, what=f"{path}: {css} to say {words!r}"
    )
    return text


async def act(browser: Browser, action: str, **fields: str) -> None:
    """Fill and send an action's form on the case page open in the browser."""
    await browser.open_details(f"do-{action}")
    for name, value in fields.items():
        element = f"{action}-{name}"
        if name in ("reason", "priority") and action in ("escalate_now", "change_priority"):
            await browser.choose(element, value)
        else:
            await browser.fill(element, value)
    await browser.click(f"submit-{action}")


async def test_a_customer_and_engineers_work_a_case_from_the_page(
    store: Store, server: ApiServer, dev_desk: Desk
) -> None:
    alice, dana, erin, farid = (
        key_for(store, p) for p in ("acme-alice", "cc-dana", "gsc-erin", "gsc-farid")
    )
    other = await dev_desk.open(account_id="acme", contact_id="acme-bob", priority="P3")
    async with chromium(server.url) as browser:
        await browser.go("/")
        assert await browser.path() == "/signin"
        await browser.shot("signin")
        await browser.sign_in("cw_0123456789ab_" + "x" * 43)
        assert "not known" in await browser.text("#error")  # the door's sentence
        await browser.sign_in(alice)
        assert await browser.path() == "/cases"
        assert "Alice" in await browser.text("[data-testid=who]")
        session = next(c for c in await browser.cookies() if c["name"] == "casework_session")
        assert session["httpOnly"] is True and session["sameSite"] == "Strict"
        assert alice not in session["value"]  # sealed, not the key

        # a customer opens a case from the page
        await browser.click("new-case")
        await browser.fill("product", "FortiGate")
        await browser.fill("version", "7.4.3")
        await browser.choose("priority", "P2")
        await browser.fill("subject", "HA cluster fails over")
        await browser.fill("description", "HA cluster fails over every few minutes")
        await browser.click("open")
        assert "Case opened" in await browser.text("#done")
        case_id = await browser.text("#case-id")
        dev_desk.opened.append(case_id)
        page = f"/cases/{case_id}"
        assert await browser.text("#description") == "HA cluster fails over every few minutes"
        assert "left" in await browser.text("#sla-clock")  # the first-response clock runs

        await act(browser, "comment", text="Both units run 7.4.3")
        assert "Add a comment" in await browser.text("#done")
        assert "Both units run 7.4.3" in await browser.text("#feed")
        customer_forms = await browser.ids("details.action")
        assert "do-respond" not in customer_forms and "do-escalate_now" in customer_forms

        # their cases, filtered by state and priority
        await eventually_on_page(browser, "/cases?priority=P2", "#case-table", case_id)
        listed = await browser.text("#case-table")
        assert other not in listed
        await eventually_on_page(browser, "/cases", "#case-table", other)
        await browser.shot("cases")
        await browser.go("/cases?priority=P1&state=in_progress")
        shown = await browser.source()  # the session's dev server may hold other tests' cases
        assert case_id not in shown and other not in shown

        # Escalate Now (E3)
        await browser.go(page)
        await act(browser, "escalate_now", reason="lack_of_progress", note="Down two days")
        assert "Escalate Now" in await browser.text("#done")
        assert "escalation" in (await browser.text("#escalation")).lower()
        await eventually_on_page(browser, page, "#handled-by", "Dana")
        await browser.shot("case-customer")

        # the engineer takes the other side
        await browser.sign_out()
        assert await browser.path() == "/signin"
        assert not [c for c in await browser.cookies() if c["name"] == "casework_session"]
        await browser.go(page)
        assert await browser.path() == "/signin"  # signed out: nothing shown
        await browser.sign_in(dana)
        assert await browser.path() == page  # back where they were going
        engineer_forms = await browser.ids("details.action")
        assert {"do-respond", "do-request_info", "do-escalate", "do-resolve"} <= set(engineer_forms)
        assert "do-escalate_now" not in engineer_forms and "do-close" not in engineer_forms
        await eventually_on_page(browser, "/cases?mine=1", "#case-table", case_id)
        await browser.go(page)
        await act(browser, "respond", text="Looking at it now")
        assert "responded" in (await browser.text("#sla-clock")).lower() or "First response" in (
            await browser.text("#sla-clock")
        )
        await browser.open_details("do-request_info")
        await browser.check("#form-request_info input[value=logs]")
        await browser.fill("request_info-text", "Please attach the HA debug log")
        await browser.click("submit-request_info")
        assert "Waiting on the customer" in await browser.text("#case-state")
        assert "logs" in await browser.text("#waiting-for")
        await browser.shot("case-engineer")

        # CSRF: a form posted without the session's token changes nothing
        cookie = next(c for c in await browser.cookies() if c["name"] == "casework_session")
        stolen = {"casework_session": cookie["value"]}
        async with httpx.AsyncClient(base_url=server.url, cookies=stolen) as forged:
            answer = await forged.post(
                f"{page}/act/comment", data={"text": "forged", "csrf": "guess"}
            )
        assert answer.status_code == 400
        await browser.go(page)
        assert "forged" not in await browser.text("#feed")

        await browser.sign_out()
        await browser.sign_in(alice)
        await browser.go(page)
        await act(browser, "provide_info", text="Debug log uploaded to the portal")
        assert "In progress" in await browser.text("#case-state")

        await browser.sign_out()
        await browser.sign_in(dana)
        await browser.go(page)
        await act(browser, "escalate", reason="Needs HA expertise")
        await eventually_on_page(browser, page, "#handled-by", "Erin")

        # an engineer who does not own the case is refused with the engine's reason
        await browser.sign_out()
        await browser.sign_in(farid)
        await browser.go(page)
        await act(browser, "respond", text="I'll take it")
        refusal = await browser.text("#error")
        assert f"respond refused on {case_id}" in refusal and "owns the case" in refusal

        await browser.sign_out()
        await browser.sign_in(erin)
        await browser.go(page)
        await act(browser, "resolve", resolution="Fixed in 7.4.4; upgrade both units")
        assert "Resolved" in await browser.text("#case-state")

        await browser.sign_out()
        await browser.sign_in(alice)
        await browser.go(page)
        await act(browser, "close", reason="Stable for a day")
        assert "Closed" in await browser.text("#case-state")
        assert not await browser.has("details.action")  # nothing left to do
        await browser.shot("case-closed", sizes=(PHONE,))


async def test_a_restricted_case_approval_from_the_page_and_a_non_member_sees_it_withheld(
    store: Store, env: WorkflowEnvironment, desk: Desk, tmp_path: Path
) -> None:
    ivan, kara, noah, erin = (
        key_for(store, p) for p in (APPROVER, "usc-kara", "usc-noah", "gsc-erin")
    )
    await skip_to_business_hours(env)
    log = tmp_path / "ike-debug.log"
    log.write_text("ike: phase 2 negotiation failed with enclave peer 10.7.0.1\n" * 40)
    secret = "IPsec tunnel to the Bravo-7 enclave drops every hour"
    async with (
        serving_door(
            store,
            target=target_of(env),
            namespace=env.client.namespace,
            task_queue=desk.task_queue,
            state_dir=tmp_path / "state",
            case_options=desk.case_options,
        ) as url,
        chromium(url) as browser,
    ):
        # the customer (an approver of a US Citizen Support account) opens and comments
        await browser.sign_in(ivan)
        await browser.go("/cases/new")
        await browser.shot("new-case", sizes=(PHONE,))
        await browser.fill("product", "FortiGate")
        await browser.fill("version", "7.4.3")
        await browser.choose("priority", "P2")
        await browser.fill("subject", "Restricted: VPN tunnel drops")
        await browser.fill("description", secret)
        await browser.click("open")
        case_id = await browser.text("#case-id")
        desk.opened.append(case_id)
        page = f"/cases/{case_id}"
        await act(browser, "comment", text="The tunnel carries Bravo-7 traffic")
        await browser.open_details("do-attach")
        await browser.fill("attach-file", str(log))
        await browser.click("submit-attach")
        assert "Attach a file" in await browser.text("#done")
        assert "ike-debug.log" in await browser.text("#attachments")

        # the restricted queue's engineers take it up the ladder; the L0 from the page
        await until(desk, case_id, lambda v: v.owner is not None)
        await browser.sign_out()
        await browser.sign_in(kara)
        await browser.go(page)
        assert secret in await browser.text("#description")  # a member sees everything
        await act(browser, "respond", text="Collecting data")
        await act(browser, "escalate", reason="Needs log review")
        for member, level in (("usc-liam", "L1"), ("usc-maya", "L2")):
            await until(desk, case_id, lambda v, m=member: v.owner and v.owner.engineer_id == m)
            await desk.act(case_id, "escalate", actor=member, reason=f"needs more than {level}")
        await until(desk, case_id, lambda v: v.owner and v.owner.engineer_id == "usc-noah")

        await browser.sign_out()
        await browser.sign_in(noah)
        await browser.go(page)
        await browser.open_details("do-request_log_approval")
        await browser.check("#form-request_log_approval input[value=att-1]")
        await browser.fill("request_log_approval-note", "IKE negotiation only")
        await browser.click("submit-request_log_approval")
        assert "customer's approval" in await browser.text("#waiting-for")

        # the customer escalates, approves sharing the log, and closes
        await browser.sign_out()
        await browser.sign_in(ivan)
        await browser.go(page)
        assert "att-1" in await browser.text("#approval")
        await act(browser, "escalate_now", reason="business_impact", note="Mission impact")
        assert "escalation" in (await browser.text("#escalation")).lower()
        await browser.shot("case-approval")
        await act(browser, "approve_logs")
        assert "Approve sharing the logs" in await browser.text("#done")
        assert not await browser.has("#approval")
        assert "approve logs" in (await browser.text("#feed")).lower()

        # a non-member sees that the items exist, not what they say (U5)
        await browser.sign_out()
        await browser.sign_in(erin)
        await browser.go(page)
        assert await browser.has("#withheld-notice")
        html = await browser.source()
        for content in ("Bravo-7", "ike-debug.log", "IKE negotiation", "Mission impact"):
            assert content not in html, content
        assert "withheld" in (await browser.text("#description")).lower()
        assert await browser.has("#attachments .withheld-item")
        assert not await browser.has("#attachments a")  # no link to the file
        assert not await browser.has("details.action")
        await browser.shot("case-withheld")
        await browser.go(f"{page}/files/att-1")
        assert "withheld" in (await browser.source()).lower()
        refused = store.audit.list(case_id=case_id, principal="gsc-erin", refused_only=True)
        assert {r["action"] for r in refused} >= {"read"}, refused

        await browser.sign_out()
        await browser.sign_in(ivan)
        await browser.go(page)
        await act(browser, "close", reason="Workaround in place")
        assert "Closed" in await browser.text("#case-state")
