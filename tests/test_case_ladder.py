"""The escalation ladder and skill-based routing (E1, E2), from the outside.

L0 Customer Care -> L1/L2 Global Support Center -> L3 Global Escalation Center -> a Problem
Report to product engineering. Routing runs the real activity against the test's database.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from casework.domain.directory import Directory
from casework.domain.models import CaseView
from casework.store import Store
from tests.conftest import Desk, policy_in_seconds


def owned_by(engineer_id: str):  # type: ignore[no-untyped-def]
    return lambda v: v.state == "in_progress" and v.owner and v.owner.engineer_id == engineer_id


async def escalate_to(desk: Desk, case_id: str, by: str, to: str) -> CaseView:
    result = await desk.act(case_id, "escalate", actor=by, reason=f"{by} cannot resolve it")
    assert result.state == "queued"
    return await desk.until(case_id, owned_by(to))


async def refusal(desk: Desk, case_id: str, action: str, **payload: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await desk.act(case_id, action, **payload)
    assert isinstance(refused.value.cause, ApplicationError)
    return str(refused.value.cause)


async def test_a_case_climbs_the_ladder_to_a_problem_report(desk: Desk, store: Store) -> None:
    """E1/E2: a FortiGate case is routed by skills at each level (L0 cc-dana, L1 gsc-erin,
    L2 gsc-grace, L3 gec-hugo); at L3 the owner files a Problem Report: the case stays open,
    linked to the PR, and the tracker has it. A second PR, an escalation beyond L3 and a PR
    below L3 are refused with a pointer to what to do instead."""
    case_id = await desk.open(product="FortiGate", priority="P2")
    l0 = await desk.until(case_id, owned_by("cc-dana"))
    assert (l0.level, l0.queue) == ("L0", "customer-care")

    l1 = await escalate_to(desk, case_id, "cc-dana", "gsc-erin")
    assert (l1.level, l1.queue, l1.owner and l1.owner.level) == ("L1", "gsc", "L1")
    l2 = await escalate_to(desk, case_id, "gsc-erin", "gsc-grace")
    assert (l2.level, l2.queue) == ("L2", "gsc")

    message = await refusal(desk, case_id, "file_problem_report", actor="gsc-grace", summary="bug")
    assert "filed at L3 only" in message and "escalate it first" in message
    assert store.tracker.problem_reports(case_id) == []

    l3 = await escalate_to(desk, case_id, "gsc-grace", "gec-hugo")
    assert (l3.level, l3.queue) == ("L3", "gec")

    message = await refusal(desk, case_id, "escalate", actor="gec-hugo", reason="stuck")
    assert "already at L3" in message and "Problem Report" in message

    filed = await desk.act(
        case_id, "file_problem_report", actor="gec-hugo", summary="HA heartbeat lost on 7.4.3"
    )
    view = await desk.view(case_id)
    assert view.problem_report is not None and view.problem_report in filed.message
    assert view.state == "in_progress" and view.closed_at is None
    assert view.owner is not None and view.owner.engineer_id == "gec-hugo"
    reports = store.tracker.problem_reports(case_id)
    assert [(r["id"], r["filed_by"]) for r in reports] == [(view.problem_report, "gec-hugo")]
    assert reports[0]["summary"] == "HA heartbeat lost on 7.4.3"

    message = await refusal(desk, case_id, "file_problem_report", actor="gec-hugo", summary="again")
    assert f"already linked to {view.problem_report}" in message
    assert len(store.tracker.problem_reports(case_id)) == 1

    feed = (await desk.view(case_id)).feed
    assigned = [e.text.split(" (")[1].split(")")[0] for e in feed if e.kind == "assigned"]
    assert assigned == ["cc-dana", "gsc-erin", "gsc-grace", "gec-hugo"]
    ladder = [e.text.split(":")[0] for e in feed if e.kind == "escalate" and not e.refused]
    assert ladder == ["L0 -> L1", "L1 -> L2", "L2 -> L3"]


async def test_routing_follows_the_product_skill(desk: Desk) -> None:
    """E1: at L1 a FortiAnalyzer case goes to gsc-farid (the L1 with that skill), not to
    gsc-erin (FortiGate, FortiManager)."""
    case_id = await desk.open(product="fortianalyzer", version="7.2.1")
    view = await desk.until(case_id, owned_by("cc-dana"))
    assert view.product == "FortiAnalyzer", "intake spells the product as the directory does"
    view = await escalate_to(desk, case_id, "cc-dana", "gsc-farid")
    assert view.level == "L1"


async def test_only_the_owner_escalates(desk: Desk) -> None:
    """E2: the engineer who owns the case escalates it; another engineer or the customer is
    refused and the case stays where it is."""
    case_id = await desk.open()
    before = await desk.until(case_id, owned_by("cc-dana"))
    for actor in ("gsc-erin", "acme-alice"):
        message = await refusal(desk, case_id, "escalate", actor=actor, reason="take it")
        assert "only the engineer who owns the case" in message
    after = await desk.view(case_id)
    assert (after.level, after.state, after.owner) == (before.level, "in_progress", before.owner)


# --- nobody to route to -------------------------------------------------------------------


@pytest.mark.parametrize("policy", [policy_in_seconds()], ids=["seconds"])
async def test_a_case_waits_in_the_queue_until_an_engineer_is_available(
    env: WorkflowEnvironment, desk: Desk, store: Store, directory: Directory
) -> None:
    """E1: no L2 engineer has the FortiManager skill, so an escalated FortiManager case waits
    in the queue, saying so once on its feed however often routing is retried; when the
    directory gains such an engineer, the next retry (S5 policy: every 5 s) assigns it."""
    case_id = await desk.open(product="FortiManager", priority="P3")
    await desk.until(case_id, owned_by("cc-dana"))
    await escalate_to(desk, case_id, "cc-dana", "gsc-erin")
    await desk.act(case_id, "escalate", actor="gsc-erin", reason="needs L2")

    waiting = await desk.until(case_id, lambda v: any(e.kind == "waiting_in_queue" for e in v.feed))
    assert waiting.state == "queued" and waiting.owner is None
    assert (waiting.level, waiting.queue) == ("L2", "gsc")
    entry = next(e for e in waiting.feed if e.kind == "waiting_in_queue")
    assert "no L2 engineer with skills FortiManager" in entry.text

    # three more routing attempts; the test server does not skip past a pending task, so
    # each retry has run by the time the sleep returns
    await env.sleep(timedelta(seconds=17))
    still = await desk.view(case_id)
    assert still.state == "queued"
    assert [e.kind for e in still.feed].count("waiting_in_queue") == 1

    grace = next(e for e in directory.engineers if e.id == "gsc-grace")
    grace.skills.append("FortiManager")
    store.directory.replace(directory)
    changed_at = await env.get_current_time()

    await env.sleep(timedelta(seconds=6))
    assigned = await desk.until(case_id, owned_by("gsc-grace"))
    assert assigned.level == "L2"
    entry = [e for e in assigned.feed if e.kind == "assigned"][-1]
    assert changed_at <= entry.at <= changed_at + timedelta(seconds=6)
