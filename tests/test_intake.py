"""Opening a case (A1-A5, E1): the intake workflow checks the request against the directory
and starts exactly one case workflow per request, or refuses with a reason and starts none."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from temporalio.service import RPCError

from casework.client import CaseworkError
from casework.domain.models import OpenCaseRequest, case_id_for
from casework.store import Store
from casework.store.tables import case_numbers
from tests.conftest import Desk, eventually


def numbers_for(store: Store, request_id: str) -> list[int]:
    with store.engine.connect() as conn:
        query = select(case_numbers.c.number).where(case_numbers.c.request_id == request_id)
        return list(conn.execute(query).scalars())


async def cases_started(desk: Desk, store: Store, request_id: str) -> list[str]:
    """Case workflows that exist for `request_id`: at most one per case number it was given."""
    started = []
    for number in numbers_for(store, request_id):
        try:
            await desk.client.get_workflow_handle(case_id_for(number)).describe()
        except RPCError:
            continue
        started.append(case_id_for(number))
    return started


async def assert_refused(desk: Desk, store: Store, says: list[str], **overrides: Any) -> None:
    request = desk.request(**overrides)
    with pytest.raises(CaseworkError) as refused:
        await desk.open_request(request)
    message = str(refused.value)
    assert message.startswith("case not opened: ")
    for part in says:
        assert part in message
    assert await cases_started(desk, store, request.request_id) == []
    assert numbers_for(store, request.request_id) == [], "no case number is used up"


async def test_an_unknown_account_is_refused(desk: Desk, store: Store) -> None:
    """A1/A4: only a customer account in the directory can open a case."""
    await assert_refused(
        desk, store, ["unknown account 'initech'", "check the account id"], account_id="initech"
    )


async def test_a_contact_of_another_account_is_refused(desk: Desk, store: Store) -> None:
    """A2: a case is opened by a contact of the account; the refusal names the account's
    contacts."""
    await assert_refused(
        desk,
        store,
        ["'globex-carol' is not a contact of account acme", "acme-alice, acme-bob"],
        account_id="acme",
        contact_id="globex-carol",
    )


async def test_an_unknown_product_is_refused(desk: Desk, store: Store) -> None:
    """A5/E1: a case is about a supported product (routing needs it); the refusal lists them."""
    await assert_refused(
        desk,
        store,
        ["unknown product 'FortiPhone'", "FortiGate, FortiAnalyzer, FortiManager"],
        product="FortiPhone",
    )


def test_priority_p4_does_not_exist() -> None:
    """S1: priorities are P1, P2, P3; anything else is refused before a request is sent."""
    with pytest.raises(ValidationError) as refused:
        Desk(None, "unused", {}).request(priority="P4")  # type: ignore[arg-type]
    assert "priority must be P1, P2 or P3, not 'P4'" in str(refused.value)
    assert OpenCaseRequest.model_validate({**_valid(), "priority": " p2 "}).priority == "P2"


def _valid() -> dict[str, Any]:
    return Desk(None, "unused", {}).request().model_dump()  # type: ignore[arg-type]


async def test_opening_twice_with_one_request_id_gives_one_case(desk: Desk, store: Store) -> None:
    """Intake is idempotent by request id: an integration that retries an open after it
    succeeded gets the same case, and only one case workflow exists; the customer hears of
    the case once."""
    request = desk.request(priority="P2")
    first = await desk.open_request(request)
    again = await desk.open_request(request)

    assert (first.created, again.created) == (True, False)
    assert again.case_id == first.case_id
    assert await cases_started(desk, store, request.request_id) == [first.case_id]
    assert len(numbers_for(store, request.request_id)) == 1
    view = await desk.until(first.case_id, lambda v: v.state == "in_progress")
    assert [e.kind for e in view.feed].count("opened") == 1
    opened_mail = await eventually(
        lambda: [n for n in store.outbox.rows(first.case_id) if n["subject"].endswith(" opened")]
    )
    assert [n["recipient_id"] for n in opened_mail] == ["acme-alice"], "the customer hears once"


async def test_concurrent_opens_with_one_request_id_give_one_case(
    dev_desk: Desk, store: Store
) -> None:
    """Intake is idempotent by request id even when the retry races the first attempt. (On
    the dev server: the time-skipping test server mishandles a start that joins a running
    workflow and lets time run away.)"""
    request = dev_desk.request(priority="P2")
    first, second = await asyncio.gather(
        dev_desk.open_request(request), dev_desk.open_request(request)
    )
    assert first.case_id == second.case_id
    assert await cases_started(dev_desk, store, request.request_id) == [first.case_id]
    assert len(numbers_for(store, request.request_id)) == 1


async def test_a_phone_case_records_the_agent_who_took_the_call(desk: Desk) -> None:
    """A2/E1: a case by phone is opened by the Customer Care agent who received the call; the
    feed says so, and the customer remains the case's contact."""
    case_id = await desk.open(channel="phone", received_by="cc-dana", priority="P3")
    view = await desk.view(case_id)
    opened = view.feed[0]
    assert (opened.kind, opened.actor) == ("opened", "cc-dana")
    assert opened.text.startswith("phone case for Acme Manufacturing")
    assert (view.channel, view.contact_id) == ("phone", "acme-alice")


async def test_a_web_case_is_opened_by_the_contact(desk: Desk) -> None:
    """A2: on the web (Case Center) the contact opens the case themselves."""
    case_id = await desk.open(account_id="globex", contact_id="globex-carol")
    opened = (await desk.view(case_id)).feed[0]
    assert (opened.kind, opened.actor) == ("opened", "globex-carol")
    assert opened.text.startswith("web case for Globex Retail")
