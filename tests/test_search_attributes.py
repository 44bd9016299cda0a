"""Finding cases the way a support manager does in the Web UI or `temporal workflow list`:
by tier, priority, level, state, account and SLA breach (typed search attributes).

Runs on the dev server (the time-skipping server rejects custom search attributes). The dev
server does not skip time, so P1 targets are two seconds here. Visibility is eventually
consistent: every list is polled briefly until it settles.
"""

from __future__ import annotations

import pytest
from temporalio.client import Client

from casework.domain.sla import SlaPolicy, policy_with
from tests.conftest import Desk, eventually


@pytest.fixture
def policy() -> SlaPolicy:
    """S5: P1 in two seconds so that a case breaches in real time; everything else an hour."""
    return policy_with(every_tier={"P1": "2s", "P2": "1h", "P3": "1h"}, routing_retry="1s")


async def case_ids(client: Client, query: str) -> set[str]:
    return {wf.id async for wf in client.list_workflows(query)}


async def until_listed(desk: Desk, condition: str, expected: set[str]) -> None:
    """The cases of this test's queue matching `condition` are exactly `expected`."""
    query = f"WorkflowType = 'Case' AND TaskQueue = '{desk.task_queue}' AND {condition}"
    await eventually(
        lambda: case_ids(desk.client, query),
        every=0.2,
        until=lambda found: found == expected,
        what=f"{condition} to list exactly {sorted(expected)}",
    )


async def test_a_manager_finds_cases_by_tier_priority_level_state_and_breach(
    dev_desk: Desk,
) -> None:
    """A1/S1/S3/E1/E2/E4: the case list filters on what the case is now."""
    platinum_p1 = await dev_desk.open(priority="P1")
    gold_p2 = await dev_desk.open(account_id="globex", contact_id="globex-carol", priority="P2")
    platinum_p3 = await dev_desk.open(contact_id="acme-bob", priority="P3")
    everyone = {platinum_p1, gold_p2, platinum_p3}
    for case_id in everyone:
        await dev_desk.until(case_id, lambda v: v.state == "in_progress")

    await until_listed(dev_desk, "CaseState = 'in_progress'", everyone)
    await until_listed(dev_desk, "CaseTier = 'PLATINUM'", {platinum_p1, platinum_p3})
    await until_listed(dev_desk, "CaseTier = 'GOLD'", {gold_p2})
    await until_listed(dev_desk, "CaseTier = 'PLATINUM' AND CasePriority = 'P3'", {platinum_p3})
    await until_listed(dev_desk, "CaseAccount = 'globex'", {gold_p2})
    await until_listed(dev_desk, "CaseLevel = 'L0' AND CaseOwner = 'cc-dana'", everyone)
    await until_listed(
        dev_desk, "CaseCategory = 'support' AND CaseQueue = 'customer-care'", everyone
    )

    # S3: nobody answers the P1 within its two seconds; the other two are answered in time.
    await dev_desk.act(gold_p2, "respond", actor="cc-dana", text="on it")
    await dev_desk.act(platinum_p3, "respond", actor="cc-dana", text="on it")
    await dev_desk.until(platinum_p1, lambda v: v.sla.breached_at is not None)
    await until_listed(dev_desk, "CaseSlaBreached = true", {platinum_p1})
    await until_listed(dev_desk, "CaseSlaBreached = false", {gold_p2, platinum_p3})
    await until_listed(
        dev_desk,
        "CaseTier = 'PLATINUM' AND CasePriority = 'P1' AND CaseSlaBreached = true",
        {platinum_p1},
    )

    # E2: escalation moves the case to L1 (and to Erin, in the gsc queue).
    await dev_desk.act(platinum_p3, "escalate", actor="cc-dana", reason="needs L1")
    await dev_desk.until(platinum_p3, lambda v: v.state == "in_progress" and v.level == "L1")
    await until_listed(dev_desk, "CaseLevel = 'L1'", {platinum_p3})
    await until_listed(dev_desk, "CaseOwner = 'gsc-erin' AND CaseQueue = 'gsc'", {platinum_p3})
    await until_listed(dev_desk, "CaseLevel = 'L0'", {platinum_p1, gold_p2})

    # S4/S2: the Gold case raised to P1 after its P1 target has passed is listed as P1, but
    # not as breached: its first response came in time and stopped the clock.
    await dev_desk.act(gold_p2, "change_priority", actor="globex-carol", priority="P1")
    await until_listed(dev_desk, "CasePriority = 'P1'", {platinum_p1, gold_p2})
    await until_listed(dev_desk, "CaseSlaBreached = true", {platinum_p1})

    # E4: the customer closes a case; it is listed as closed, the others stay open.
    await dev_desk.act(gold_p2, "close", actor="globex-carol")
    await until_listed(dev_desk, "CaseState = 'closed'", {gold_p2})
    await until_listed(dev_desk, "CaseState = 'in_progress'", {platinum_p1, platinum_p3})
    await until_listed(dev_desk, "ExecutionStatus = 'Running'", {platinum_p1, platinum_p3})

    for case_id in (platinum_p1, platinum_p3):
        await dev_desk.act(case_id, "close", actor="acme-alice")


async def test_the_web_ui_summary_names_account_and_product(dev_desk: Desk) -> None:
    """A case in the Web UI's list says whose it is and what it is about."""
    case_id = await dev_desk.open(
        account_id="globex", contact_id="globex-carol", product="fortianalyzer", priority="P2"
    )
    description = await dev_desk.case(case_id).describe()
    summary = await description.static_summary()
    assert summary is not None
    assert "Globex Retail" in summary
    assert "FortiAnalyzer" in summary
    assert "P2 GOLD" in summary
    await dev_desk.act(case_id, "close", actor="globex-carol")
