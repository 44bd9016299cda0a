"""Upgrading with 200 cases open (issue 28), from the outside: two `casework worker` processes
on the dev server, version 1 as shipped and version 2 whose `Case` cannot replay a single
version 1 history (tests/upgrade_v2_case.py); the operator promotes version 2 with `casework
versions promote`, waits until `casework versions` says version 1 may be shut down, and stops
it. The cases then go on, on version 2 alone: timers armed on version 1 fire, the customer
answers a log-sharing request version 1 asked, a vendor escalation returns to its partner case.

Every case ends on version 2, every first-response timer fired once, no notification was lost
or doubled, no workflow task failed with a nondeterminism error, and each case's feed and state
came through whole (tests/rollout_checks.py; the scenario: tests/rollout_scenario.py). The
figures (the drain time and the rest) come from benchmarks/upgrade_rollout.py, which runs the
same scenario.

On SQLite by default; `--db postgres` runs it on PostgreSQL (CI's PostgreSQL pass). Slow tier
(`bash scripts/test --slow -m slow`): about two and a half minutes of two busy cores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from casework.store import Store
from tests.conftest import CONVERTER, TIME_SCALE
from tests.rollout_checks import upgrade
from tests.rollout_scenario import BREACH_AFTER, MIX, V1, V2, Rollout

pytestmark = [pytest.mark.slow, pytest.mark.timeout(480)]

DRAIN_TIMEOUT = 120.0 * TIME_SCALE
"""Real seconds for every workflow of version 1 to roll over onto version 2 after the
promotion (each does at its next quiet point: seconds, whatever its age or state)."""


def row(rows: list[dict[str, Any]], build_id: str) -> dict[str, Any]:
    found = [r for r in rows if r.get("build_id") == build_id]
    assert found, f"`casework versions` shows no {build_id}: {rows}"
    return found[0]


async def test_200_open_cases_move_to_version_2_and_lose_nothing(
    dev_env: WorkflowEnvironment, store: Store, db_url: str, tmp_path: Path
) -> None:
    rollout = Rollout(dev_env.client, store, db_url, tmp_path)
    cases = sum(MIX.values()) + MIX["partner"]  # each partner case has its vendor escalation
    try:
        outcome = await upgrade(rollout, CONVERTER, DRAIN_TIMEOUT)
    finally:
        await rollout.desk.tidy_up()
        rollout.stop()
        await rollout.end_relay()
    findings = outcome.findings
    print(f"\nrollout: {findings.figures}")

    assert outcome.v1_before["current"] and not outcome.v1_before["may_shut_down"]
    assert outcome.promoted["current"] and outcome.promoted["cases_asked"] == cases
    assert not outcome.v1_drained["current"] and outcome.v1_drained["open_workflows"] == 0
    assert row(outcome.versions_after, V2)["current"]
    assert row(outcome.versions_after, V1)["open_workflows"] == 0
    assert rollout.timings.drain_s < BREACH_AFTER.total_seconds(), (
        f"the drain took {rollout.timings.drain_s:.0f} s, longer than the timers it should "
        "outlast: the armed cases' timers fired before their cases moved"
    )
    assert findings.problems == [], "\n".join(findings.problems[:40])
    assert findings.figures["nondeterminism_errors"] == findings.figures["task_failures"] == 0
    assert findings.figures["breaches"] == MIX["armed"]
    for worker in rollout.workers.values():
        assert "Traceback" not in worker.said(), worker.said()[-3000:]
