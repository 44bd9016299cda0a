"""What counts as the first response (S2, S3), on the time-skipping server: the first thing the
engineer who owns the case says to the customer, of any kind (a response, a request for
information, a comment, the resolution), as Zendesk's first reply time and Salesforce's
first-response milestone count it. What the customer does not hear (a file attached, a note to
the next level with an escalation) does not stop the clock. The clock, the breach alert and
`casework report` agree."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from casework.cli import app
from casework.domain.models import SlaState
from casework.domain.sla import FIRST_RESPONSE_ACTIONS, is_first_response
from casework.store import Store
from tests.conftest import STORED_SHA, Desk, eventually
from tests.test_case_sla import GOLD, PLATINUM, manager_alerts, open_assigned, skip_to

FIRST_WORDS = {
    "request_info": {"items": ["logs"], "text": "Please send the HA debug log"},
    "comment": {"text": "Looking at the cluster now"},
}


@pytest.mark.parametrize("action", sorted(FIRST_WORDS))
async def test_the_owners_first_word_to_the_customer_meets_the_target(
    env: WorkflowEnvironment, desk: Desk, store: Store, action: str
) -> None:
    """S2/S3: a P2 whose owner first asks the customer for information (or comments to them)
    ten minutes in has had its first response then: it is never breached, no Escalation
    Manager is paged, and the case says when the clock stopped."""
    case = await open_assigned(desk, priority="P2", **GOLD)
    assert case.owner is not None
    await env.sleep(timedelta(minutes=10))
    answer = await desk.act(
        case.case_id, action, actor=case.owner.engineer_id, **FIRST_WORDS[action]
    )
    assert "the SLA clock stopped" in answer.message

    await skip_to(env, case.sla.due_at + timedelta(hours=2))
    later = await desk.view(case.case_id)
    assert later.sla.breached_at is None
    assert later.sla.responded_at is not None
    assert later.sla.responded_at - case.opened_at >= timedelta(minutes=10)
    assert later.sla.responded_at < case.sla.due_at
    assert [e.kind for e in later.feed].count("first_response") == 1
    assert not any(e.kind == "sla_breached" for e in later.feed)
    assert manager_alerts(store, case.case_id) == []
    await desk.act(case.case_id, "close", actor=case.contact_id)


async def test_a_case_resolved_in_its_first_minute_is_within_target_in_the_report(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """S2/S3: the owner resolves a Platinum P1 thirty seconds after it opened, before any
    response: the resolution is the first response, so the case is never breached and
    `casework report` counts it within target, not breached nor awaiting."""
    case = await open_assigned(desk, priority="P1", **PLATINUM)
    assert case.owner is not None
    await env.sleep(timedelta(seconds=30))
    await desk.act(case.case_id, "resolve", actor=case.owner.engineer_id, resolution="Known bug")
    await skip_to(env, case.sla.due_at + timedelta(hours=1))
    resolved = await desk.view(case.case_id)
    assert resolved.state == "resolved"
    assert resolved.sla.breached_at is None and resolved.sla.responded_at is not None
    assert manager_alerts(store, case.case_id) == []

    def facts() -> dict[str, Any] | None:
        rows = store.reporting.cases_opened(case.opened_at, case.opened_at + timedelta(1))
        row = next((r for r in rows if r["case_id"] == case.case_id), None)
        return row if row and row["responded_at"] is not None else None

    await eventually(facts)
    window = ["--from", case.opened_at.isoformat(), "--to", resolved.sla.due_at.isoformat()]
    result = CliRunner().invoke(app, ["--db-url", store.url, "report", *window, "--output", "json"])
    assert result.exit_code == 0, result.output
    line = next(
        x
        for x in json.loads(result.output)["lines"]
        if (x["tier"], x["priority"]) == ("PLATINUM", "P1")
    )
    assert (line["opened"], line["responded_within_target"], line["breached"]) == (1, 1, 0)
    assert line["awaiting_response"] == 0
    await desk.act(case.case_id, "close", actor=case.contact_id)


async def test_what_the_customer_does_not_hear_still_breaches(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """S2/S3: the owner attaches a log and escalates with a note for the next level, and the
    customer comments; nobody has said anything to the customer, so the P2 breaches at its
    target and the Escalation Manager is paged."""
    case = await open_assigned(desk, priority="P2", **GOLD)
    assert case.owner is not None
    owner = case.owner.engineer_id
    await desk.act(case.case_id, "comment", actor=case.contact_id, text="Any news?")
    await desk.act(
        case.case_id, "attach", actor=owner, name="ha.log", kind="log", sha256=STORED_SHA, size=1
    )
    await desk.act(case.case_id, "escalate", actor=owner, reason="Internal: needs HA expertise")
    await skip_to(env, case.sla.due_at + timedelta(seconds=1))
    after = await desk.until(case.case_id, lambda v: v.sla.breached_at is not None)
    assert after.sla.breached_at == case.sla.due_at and after.sla.responded_at is None
    assert not any(e.kind == "first_response" for e in after.feed)
    await eventually(lambda: manager_alerts(store, case.case_id))
    await desk.act(case.case_id, "close", actor=case.contact_id)


def test_the_first_response_is_the_owners_first_act_that_tells_the_customer() -> None:
    """S2, our reading: every act of the owner that sends the customer a message counts; what
    the customer is not told does not, nor does anyone's act but the owner's, nor a second
    word once the clock has stopped."""
    assert FIRST_RESPONSE_ACTIONS == {
        *("respond", "request_info", "comment", "resolve"),
        *("request_log_approval", "file_problem_report"),
    }
    due = datetime(2026, 12, 1, 10, tzinfo=UTC)
    running = SlaState(target=timedelta(hours=1), due_at=due)
    for act in ("escalate", "attach", "change_priority", "accept"):
        assert not is_first_response(act, True, running), act
    assert is_first_response("comment", True, running)
    assert not is_first_response("comment", False, running), "the customer's own comment"
    answered = running.model_copy(update={"responded_at": due - timedelta(minutes=5)})
    assert not is_first_response("resolve", True, answered)
