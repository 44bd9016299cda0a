"""Security vulnerability issues (A5) from the outside: who gets them, at which level, and how
an operator lists them. Routing runs on the time-skipping server; the listing on the dev
server (custom search attributes)."""

from __future__ import annotations

from casework.client import case_list_query
from casework.domain.models import Category, Level
from casework.domain.routing import first_level
from tests.conftest import Desk, eventually

SECURITY = {"category": "security_vulnerability"}


def test_a_security_issue_starts_at_l2_and_never_lower() -> None:
    """A5: the first routing level is max(L2, the normal first level)."""
    assert first_level(Category.SECURITY_VULNERABILITY) is Level.L2
    assert first_level(Category.SECURITY_VULNERABILITY, Level.L3) is Level.L3
    assert first_level(Category.SUPPORT) is Level.L0


async def test_a_security_issue_goes_to_an_l2_engineer_with_the_security_skill(
    desk: Desk,
) -> None:
    """A5/E1: Customer Care (Dana, who has the security skill at L0) is skipped: the case goes
    straight to Grace, the L2 engineer with the security skill, in the gsc queue."""
    case_id = await desk.open(product="FortiAnalyzer", **SECURITY)
    view = await desk.until(case_id, lambda v: v.state == "in_progress")
    assert view.level is Level.L2
    assert view.owner is not None and view.owner.engineer_id == "gsc-grace"
    assert view.queue == "gsc"

    support = await desk.open(product="FortiAnalyzer")
    view = await desk.until(support, lambda v: v.state == "in_progress")
    assert view.level is Level.L0 and view.owner is not None
    assert view.owner.engineer_id == "cc-dana"


async def test_a_security_issue_without_a_security_engineer_waits_in_the_queue(
    desk: Desk,
) -> None:
    """A5/E1: FortiManager at L2 has nobody with the security skill (Grace does not know
    FortiManager): the case waits in the queue rather than going to someone unqualified."""
    case_id = await desk.open(product="FortiManager", **SECURITY)
    view = await desk.until(case_id, lambda v: v.feed[-1].kind == "waiting_in_queue")
    assert view.state == "queued" and view.owner is None
    assert "L2" in view.feed[-1].text and "security" in view.feed[-1].text


def test_casework_list_security_asks_for_the_flag() -> None:
    """A5: `casework list --security` asks for the security vulnerability category (the dev
    server's visibility store takes at most three Bool attributes: the category is the flag)."""
    assert "CaseCategory = 'security_vulnerability'" in case_list_query(security=True)
    assert "CaseCategory" not in case_list_query()


async def test_an_operator_lists_the_security_issues(dev_desk: Desk) -> None:
    """A5: flagged in search attributes; only the security case is listed."""
    security = await dev_desk.open(product="FortiGate", **SECURITY)
    support = await dev_desk.open(product="FortiGate")
    for case_id in (security, support):
        await dev_desk.until(case_id, lambda v: v.state == "in_progress")
    query = case_list_query(security=True) + f" AND TaskQueue = '{dev_desk.task_queue}'"

    async def listed() -> set[str]:
        return {wf.id async for wf in dev_desk.client.list_workflows(query)}

    await eventually(
        listed,
        every=0.2,
        until=lambda found: found == {security},
        what=f"only {security} listed as a security issue",
    )
    for case_id in (security, support):
        await dev_desk.act(case_id, "close", actor="acme-alice")
