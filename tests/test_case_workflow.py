"""The life of a case from the outside (E4, E5): waiting on the customer, comments, resolve,
reopen and close, as the Case Center offers them. The outbox is the test's real database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from casework.domain.models import CaseView
from casework.store import Store
from tests.conftest import Desk, eventually


def messages_to(store: Store, case_id: str, kind: str, person: str) -> list[dict[str, Any]]:
    return [
        n
        for n in store.outbox.rows(case_id)
        if n["recipient_kind"] == kind and n["recipient_id"] == person
    ]


async def open_assigned(desk: Desk, **overrides: Any) -> CaseView:
    case_id = await desk.open(**overrides)
    return await desk.until(case_id, lambda v: v.state == "in_progress")


async def refusal(desk: Desk, case_id: str, action: str, **payload: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await desk.act(case_id, action, **payload)
    assert isinstance(refused.value.cause, ApplicationError)
    return str(refused.value.cause)


async def closed_result(desk: Desk, case_id: str) -> CaseView:
    return await desk.result(case_id)


# --- E5 -------------------------------------------------------------------------------------


async def test_waiting_on_the_customer_and_back(desk: Desk, store: Store) -> None:
    """E5: the owner asks for logs and the configuration: the case says it waits on the
    customer and for what, and the customer is asked in a message; the engineer cannot answer
    for the customer; a contact of the account answers and the case is back with the owner,
    who is told so."""
    case = await open_assigned(desk)
    asked = await desk.act(
        case.case_id,
        "request_info",
        actor="cc-dana",
        items=["logs", "configuration"],
        text="debug flow output please",
    )
    assert asked.state == "waiting_on_customer"
    view = await desk.view(case.case_id)
    assert view.state == "waiting_on_customer"
    assert view.waiting_for == ["logs", "configuration"]
    request = await eventually(
        lambda: [
            n
            for n in messages_to(store, case.case_id, "contact", "acme-alice")
            if "needs information" in n["subject"]
        ]
    )
    assert "logs, configuration" in request[0]["body"]
    assert request[0]["address"] == "alice@acme.example"

    message = await refusal(
        desk, case.case_id, "provide_info", actor="cc-dana", text="here are the logs"
    )
    assert "only a contact of the account" in message
    assert (await desk.view(case.case_id)).state == "waiting_on_customer"

    answered = await desk.act(
        case.case_id, "provide_info", actor="acme-bob", text="logs uploaded as ref L-42"
    )
    assert answered.state == "in_progress"
    view = await desk.view(case.case_id)
    assert view.waiting_for == []
    assert view.owner is not None and view.owner.engineer_id == "cc-dana"
    told = await eventually(
        lambda: [
            n
            for n in messages_to(store, case.case_id, "engineer", "cc-dana")
            if "customer answered" in n["subject"]
        ]
    )
    assert told[0]["body"] == "logs uploaded as ref L-42"


# --- E4 -------------------------------------------------------------------------------------


async def test_comments_from_both_sides_are_on_the_feed(desk: Desk, store: Store) -> None:
    """E4 Case Comments / Show Feed: a contact's and the owner's comments appear on the feed,
    in order, with their time and actor; each side is told of the other's comment."""
    case = await open_assigned(desk)
    await desk.act(case.case_id, "comment", actor="acme-alice", text="Cluster rebooted at 9:02")
    await desk.act(case.case_id, "comment", actor="cc-dana", text="Thanks, checking crashlog")
    feed = (await desk.view(case.case_id)).feed
    comments = [e for e in feed if e.kind == "comment"]
    assert [(e.actor, e.text) for e in comments] == [
        ("acme-alice", "Cluster rebooted at 9:02"),
        ("cc-dana", "Thanks, checking crashlog"),
    ]
    assert case.opened_at <= comments[0].at <= comments[1].at
    assert not any(e.refused for e in comments)
    await eventually(
        lambda: [
            n
            for n in messages_to(store, case.case_id, "engineer", "cc-dana")
            if n["body"] == "Cluster rebooted at 9:02"
        ]
    )
    await eventually(
        lambda: [
            n
            for n in messages_to(store, case.case_id, "contact", "acme-alice")
            if n["body"] == "Thanks, checking crashlog"
        ]
    )


async def test_an_outsider_cannot_comment(desk: Desk) -> None:
    """E4: comments come from a contact of the account or the owner; another account's contact
    is refused."""
    case = await open_assigned(desk)
    message = await refusal(desk, case.case_id, "comment", actor="globex-carol", text="hi")
    assert "globex-carol is neither" in message
    assert not any(
        e.kind == "comment" and not e.refused for e in (await desk.view(case.case_id)).feed
    )


async def _queued(desk: Desk) -> str:
    """A FortiManager case escalated to L2, where nobody has that skill: it waits queued."""
    case_id = await desk.open(product="FortiManager")
    await desk.until(case_id, lambda v: v.state == "in_progress")
    await desk.act(case_id, "escalate", actor="cc-dana", reason="L1 please")
    await desk.until(case_id, lambda v: v.owner is not None and v.owner.engineer_id == "gsc-erin")
    await desk.act(case_id, "escalate", actor="gsc-erin", reason="L2 please")
    await desk.until(case_id, lambda v: any(e.kind == "waiting_in_queue" for e in v.feed))
    return case_id


async def _in_progress(desk: Desk) -> str:
    return (await open_assigned(desk)).case_id


async def _waiting_on_customer(desk: Desk) -> str:
    case_id = await _in_progress(desk)
    await desk.act(case_id, "request_info", actor="cc-dana", items=["hardware"])
    return case_id


async def _resolved(desk: Desk) -> str:
    case_id = await _in_progress(desk)
    await desk.act(case_id, "resolve", actor="cc-dana", resolution="firmware 7.4.4 fixes it")
    return case_id


@pytest.mark.parametrize(
    "reach", [_queued, _in_progress, _waiting_on_customer, _resolved], ids=lambda f: f.__name__[1:]
)
async def test_the_customer_closes_the_case_from_any_open_state(
    desk: Desk, store: Store, reach: Callable[[Desk], Any]
) -> None:
    """E4: the customer can close their own case at any time; an engineer cannot. Closing
    completes the case: its result says closed, with the time and the customer on the feed,
    and its engineer's load is released."""
    case_id = await reach(desk)
    state = (await desk.view(case_id)).state
    assert state == reach.__name__[1:]

    message = await refusal(desk, case_id, "close", actor="cc-dana", reason="done")
    assert "only a contact of the account" in message
    assert (await desk.view(case_id)).state == state

    result = await desk.act(case_id, "close", actor="acme-alice", reason="no longer needed")
    assert result.state == "closed"
    final = await closed_result(desk, case_id)
    assert final.state == "closed" and final.closed_at is not None
    close = final.feed[-1]
    assert (close.kind, close.actor, close.at) == ("close", "acme-alice", final.closed_at)
    assert final.allowed_actions == []
    assert store.tracker.open_case_counts().get("cc-dana", 0) == 0
    assert store.tracker.open_case_counts().get("gsc-erin", 0) == 0


async def test_resolve_reopen_resolve_close(desk: Desk, store: Store) -> None:
    """E4: the owner resolves, the customer reopens (back with the same engineer), the owner
    resolves again and the customer closes; only the customer reopens."""
    case = await open_assigned(desk)
    resolved = await desk.act(case.case_id, "resolve", actor="cc-dana", resolution="reboot")
    assert resolved.state == "resolved"
    assert (await desk.view(case.case_id)).resolution == "reboot"

    message = await refusal(desk, case.case_id, "reopen", actor="cc-dana", reason="oops")
    assert "only a contact of the account" in message

    reopened = await desk.act(case.case_id, "reopen", actor="acme-alice", reason="it came back")
    assert reopened.state == "in_progress"
    view = await desk.view(case.case_id)
    assert view.resolution is None
    assert view.owner is not None and view.owner.engineer_id == "cc-dana"

    await desk.act(case.case_id, "resolve", actor="cc-dana", resolution="firmware 7.4.4")
    await desk.act(case.case_id, "close", actor="acme-alice")
    final = await closed_result(desk, case.case_id)
    assert final.state == "closed"
    assert final.resolution == "firmware 7.4.4"
    kinds = [e.kind for e in final.feed if not e.refused]
    # S2: resolving before any response was the owner's first word to the customer
    assert kinds[-5:] == ["resolve", "first_response", "reopen", "resolve", "close"]
    closing = await eventually(
        lambda: [
            n
            for n in messages_to(store, case.case_id, "engineer", "cc-dana")
            if n["subject"].endswith("closed")
        ]
    )
    assert "firmware 7.4.4" in closing[0]["body"]
