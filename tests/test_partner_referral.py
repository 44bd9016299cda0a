"""Referral (P2): a PAR customer who opens a case with us directly, by phone or web, is referred
to their partner. The customer is told the partner's name and how to reach them, the referral is
on record, and nothing is opened for our engineers: no case number, no case workflow, nobody
assigned. Every open request refers again; the same request id is the same referral.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType

from casework.client import intake_id
from casework.domain.models import OpenCaseRequest, OpenCaseResult
from casework.store import Store
from casework.store.tables import case_numbers
from tests import test_cli
from tests.conftest import Desk

NORTHWIND = "Northwind IT Services"
NORTHWIND_CONTACT = (
    "email support@northwind.example, phone +1 617 555 0170, web https://support.northwind.example"
)

cli_env = test_cli.cli_env  # the CLI pointed at a dev-server worker over this test's database


def par_request(desk: Desk, channel: str = "phone") -> OpenCaseRequest:
    return desk.request(account_id="soylent", contact_id="soylent-sam", channel=channel)


def case_numbers_used(store: Store) -> int:
    """Case numbers allocated beyond the test's starting mark."""
    with store.engine.connect() as conn:
        query = select(func.count()).select_from(case_numbers)
        return int(conn.execute(query).scalar_one()) - 1


async def activities_run_by_intake(desk: Desk, request_id: str) -> list[str]:
    """The intake's steps: activities, or (since the intake-local-activities patch) local
    activities, which history records as markers naming the activity; since intake-one-step,
    one local activity for both (it starts a case only for an intake that is not referred)."""
    history = await desk.client.get_workflow_handle(intake_id(request_id)).fetch_history()
    ran = []
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            ran.append(e.activity_task_scheduled_event_attributes.activity_type.name)
        elif e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            data = e.marker_recorded_event_attributes.details.get("data")
            if data is not None and data.payloads:
                ran.append(json.loads(data.payloads[0].data).get("activity_type", ""))
    return [name for name in ran if name]


def assert_nothing_opened(desk: Desk, store: Store, result: OpenCaseResult) -> None:
    assert result.case_id is None
    assert desk.opened == []
    assert case_numbers_used(store) == 0, "no case number is allocated"
    assert store.tracker.open_case_counts() == {}, "no engineer of ours is assigned"


@pytest.mark.parametrize("channel", ["phone", "web"])
async def test_a_par_customer_is_referred_to_their_partner(
    desk: Desk, store: Store, channel: str
) -> None:
    """P2: by phone or by web, the outcome is the same: the partner's name and channels, a
    referral on record, a message to the customer, and no case."""
    request = par_request(desk, channel)
    result = await desk.open_request(request)

    assert result.referred_to == NORTHWIND
    assert result.partner_contact == NORTHWIND_CONTACT
    assert result.referral_id and result.referral_id.startswith("REF-")
    assert_nothing_opened(desk, store, result)
    # one step, which allocated no case number (above), so it started no case workflow: a
    # case's workflow id is its number
    assert await activities_run_by_intake(desk, request.request_id) == ["intake_and_start_case"]

    [referral] = store.intake.referrals(account="soylent")
    assert referral["referral_id"] == result.referral_id
    assert (referral["request_id"], referral["contact"], referral["partner"]) == (
        request.request_id,
        "soylent-sam",
        "northwind-it",
    )
    assert referral["channel"] == channel

    [told] = store.outbox.rows()
    assert (told["recipient_kind"], told["recipient_id"]) == ("contact", "soylent-sam")
    assert told["address"] == "sam@soylent.example"
    assert told["case_id"] is None
    assert NORTHWIND in told["subject"]
    for fact in (NORTHWIND, NORTHWIND_CONTACT, result.referral_id, "not opened a case"):
        assert fact in told["body"]


async def test_opening_twice_refers_twice_and_opens_nothing(desk: Desk, store: Store) -> None:
    """P2: two open requests are two referrals and two messages, and still no case."""
    first = await desk.open_request(par_request(desk, "phone"))
    second = await desk.open_request(par_request(desk, "web"))

    assert first.referral_id != second.referral_id
    assert [r["referral_id"] for r in store.intake.referrals()] == [
        first.referral_id,
        second.referral_id,
    ]
    assert [n["recipient_id"] for n in store.outbox.rows()] == ["soylent-sam", "soylent-sam"]
    assert_nothing_opened(desk, store, second)


async def test_the_same_request_id_is_the_same_referral(desk: Desk, store: Store) -> None:
    """An integration that retries an open reaches the same intake: one referral, one message."""
    request = par_request(desk)
    first = await desk.open_request(request)
    again = await desk.open_request(request)

    assert (again.referral_id, again.referred_to) == (first.referral_id, NORTHWIND)
    assert (first.created, again.created) == (True, False)
    assert len(store.intake.referrals()) == 1
    assert len(store.outbox.rows()) == 1
    assert_nothing_opened(desk, store, again)


async def test_a_direct_account_still_opens_a_case(desk: Desk, store: Store) -> None:
    """A4: only PAR accounts are referred; a customer who bought from us gets a case."""
    case_id = await desk.open(account_id="globex", contact_id="globex-carol", channel="phone")

    assert case_id.startswith("case-")
    view = await desk.until(case_id, lambda v: v.owner is not None)
    assert view.account_id == "globex"
    assert store.intake.referrals() == []


async def test_a_refused_par_request_is_not_referred(desk: Desk, store: Store) -> None:
    """Only a contact of the PAR account is referred: anybody else is refused as before."""
    from casework.client import CaseworkError

    with pytest.raises(CaseworkError, match="'acme-alice' is not a contact of account soylent"):
        await desk.open(account_id="soylent", contact_id="acme-alice")
    assert store.intake.referrals() == []
    assert store.outbox.rows() == []


# --- the CLI -----------------------------------------------------------------------------------

PAR_OPEN = [
    *("--profile", "soylent-sam"),
    *test_cli.OPEN[:3],
    *("--account", "soylent", "--contact", "soylent-sam"),
    *test_cli.OPEN[7:],
]


async def test_casework_open_prints_the_referral_and_referrals_lists_it(
    cli_env: Desk, store: Store
) -> None:
    """P2 from a terminal: `casework open` for a PAR customer names the partner and its
    channels and says no case was opened; `casework referrals` lists the referral, as JSON for
    an integration."""
    opened = await test_cli.cli(*PAR_OPEN, "--request-id", "par-cli-1")
    assert opened.exit_code == 0, opened.output
    line = " ".join(opened.stdout.split())
    assert line.startswith(f"referred to {NORTHWIND}: {NORTHWIND_CONTACT}; no case opened (REF-")
    assert "case-" not in opened.stdout

    again = await test_cli.cli(*PAR_OPEN, "--request-id", "par-cli-1")
    assert "already referred" in again.stdout
    as_json = await test_cli.cli(*PAR_OPEN, "--request-id", "par-cli-1", "--output", "json")
    assert json.loads(as_json.stdout) == {
        "created": False,
        "referred_to": NORTHWIND,
        "referral_id": line.split("(")[1].split(",")[0],
        "partner_contact": NORTHWIND_CONTACT,
    }
    by_phone = await test_cli.cli(
        *("--profile", "cc-dana", *PAR_OPEN[2:], "--request-id", "par-cli-2", "--channel", "phone")
    )
    assert by_phone.exit_code == 0, by_phone.output

    listed = await test_cli.cli("referrals", "--account", "soylent", "--output", "json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["request_id"], r["channel"], r["partner"]) for r in rows] == [
        ("soylent:par-cli-1", "web", "northwind-it"),  # a key is the caller's own (issue 24)
        ("cc-dana:par-cli-2", "phone", "northwind-it"),
    ]

    table = await test_cli.cli("referrals")
    assert table.exit_code == 0, table.output
    assert "par-cli-1" in table.stdout and "soylent-sam" in table.stdout
    none = await test_cli.cli("referrals", "--account", "acme")
    assert none.stdout.strip() == "no referrals for acme"
    assert case_numbers_used(store) == 0
