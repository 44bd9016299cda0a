"""Upgrading with 200 cases open (issue 28), from the outside: two `casework worker` processes
on the dev server, version 1 as shipped and version 2 whose `Case` cannot replay a single
version 1 history (tests/upgrade_v2_case.py); the operator promotes version 2 with `casework
versions promote`, waits until `casework versions` says version 1 may be shut down, and stops
it. Meanwhile customers keep commenting on some cases, so actions arrive as cases roll over.
The cases then go on, on version 2 alone: timers armed on version 1 fire, the customer answers
a log-sharing request version 1 asked, a vendor escalation returns to its partner case.

Every case ends on version 2, every first-response timer fired once, no notification was lost
or doubled, no workflow task failed with a nondeterminism error, and each case's feed and state
came through whole (tests/rollout_checks.py; the scenario: tests/rollout_scenario.py). The
figures (the drain time and the rest) come from benchmarks/upgrade_rollout.py, which runs the
same scenario.

On SQLite by default; `--db postgres` runs it on PostgreSQL (CI's PostgreSQL pass). Slow tier
(`bash scripts/test --slow -m slow`): about two and a half minutes of two busy cores.
"""

from __future__ import annotations

import zoneinfo
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from casework.store import Store
from tests.business_hours_zone import fixed_offset_tzif, open_zone_now
from tests.conftest import CONVERTER, TIME_SCALE
from tests.rollout_checks import told, upgrade
from tests.rollout_scenario import MIX, V1, V2, Case, Rollout

DRAIN_TIMEOUT = 240.0 * TIME_SCALE
"""Real seconds for every workflow of version 1 to roll over onto version 2 after the
promotion (each does at its next quiet point: seconds, whatever its age or state). 11 to 16 s
on 2 cores at load 1 to 4; 95 s at load 10 to 18, other jobs beside it."""


def row(rows: list[dict[str, Any]], build_id: str) -> dict[str, Any]:
    found = [r for r in rows if r.get("build_id") == build_id]
    assert found, f"`casework versions` shows no {build_id}: {rows}"
    return found[0]


@pytest.mark.slow
@pytest.mark.timeout(480)
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
    promoted = outcome.promoted
    assert promoted["current"] and promoted["failed"] == 0, promoted
    # a case with a workflow task between the switch and promote's asking (a customer's
    # comment, a ladder's timer) moves by itself (that task sees the new target): not asked
    assert 0 < promoted["cases_asked"] <= cases, promoted
    assert not outcome.v1_drained["current"] and outcome.v1_drained["open_workflows"] == 0
    assert row(outcome.versions_after, V2)["current"]
    assert row(outcome.versions_after, V1)["open_workflows"] == 0
    assert findings.problems == [], "\n".join(findings.problems[:40])
    assert findings.figures["nondeterminism_errors"] == 0
    assert findings.figures["breaches"] == MIX["armed"]
    for worker in rollout.workers.values():
        assert "Traceback" not in worker.said(), worker.said()[-3000:]


# --- the checks themselves can fail ------------------------------------------------------------


def entry(seq: int, actor: str, kind: str, text: str = "", refused: bool = False) -> dict[str, Any]:
    return {"seq": seq, "actor": actor, "kind": kind, "text": text, "refused": refused}


LADDER_FEED = [
    entry(0, "acme-alice", "opened", "web case for Acme Manufacturing: FortiGate 7.4.3, P2"),
    entry(1, "routing", "assigned", "Dana Park (cc-dana), L0, queue customer-care"),
    entry(
        2,
        "acme-alice",
        "escalate_now",
        "case-1-E1 online (Escalate Now): lack of progress. Ines Okafor (em-ines) is alerted "
        "and acknowledges within 1m.",
    ),
    entry(3, "system", "continued", "history rolled over; state carried"),
    entry(4, "acme-alice", "comment", "still down", refused=True),
    entry(
        5,
        "escalation-ladder",
        "escalation_passed_on",
        "case-1-E1: Ines Okafor (em-ines) did not acknowledge within 1m; now with Jon Svensson "
        "(em-jon)",
    ),
    entry(6, "em-jon", "acknowledge_escalation", "case-1-E1: acknowledged by Jon Svensson; it"),
    entry(7, "acme-alice", "comment", "thanks"),
]
"""A ladder case's feed as the rollout leaves it (kinds and texts as the case writes them)."""


def test_the_outbox_check_names_what_a_feed_sent() -> None:
    """`told`: what the rollout compares the outbox with. Each feed entry that tells somebody
    counts once; a refusal, a roll-over and the ladder's own bookkeeping tell nobody; a kind
    the rules do not know is reported, never passed over."""
    case = Case(case_id="case-1", kind="ladder", n=0, contact="acme-alice")
    assert told(case, "case-1", LADDER_FEED) == Counter(
        {
            ("contact", "acme-alice", "case-1 opened"): 1,
            ("engineer", "cc-dana", "case-1 assigned to you"): 1,
            ("escalation_manager", "em-ines", "Escalation case-1-E1 on case-1"): 1,
            ("contact", "acme-alice", "case-1 escalated (case-1-E1)"): 1,
            ("escalation_manager", "em-jon", "Escalation case-1-E1 on case-1"): 1,
            ("contact", "acme-alice", "case-1: Jon Svensson has your escalation"): 1,
            ("engineer", "cc-dana", "Comment on case-1"): 1,
        }
    )
    unknown = told(case, "case-1", [*LADDER_FEED, entry(8, "x", "teleported")])
    assert unknown[("?", "teleported", "no rule for feed entries of kind 'teleported'")] == 1
    vendor_side = told(None, "case-1-esc-1", LADDER_FEED[:1])
    assert list(vendor_side) == [("partner", "northwind-it", "case-1-esc-1 opened")]


def test_a_zone_is_found_where_us_citizen_support_is_open(tmp_path: Path) -> None:
    """U4 on the real clock: an Etc/GMT zone on a weekday; on a Sunday morning UTC, a zone
    file of the test's own already in Monday's hours; none on a Saturday evening UTC."""
    wednesday = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    zone = open_zone_now(tmp_path, wednesday)
    assert zone is not None and zone.name.startswith("Etc/") and zone.env() == {}

    sunday = datetime(2026, 12, 6, 10, 30, tzinfo=UTC)
    own = open_zone_now(tmp_path, sunday)
    assert own is not None and own.search_path == tmp_path / "zoneinfo"
    local = sunday.astimezone(zoneinfo.ZoneInfo(own.name))
    assert (local.strftime("%a"), 9 <= local.hour < 17) == ("Mon", True), local
    assert own.env()["PYTHONTZPATH"].startswith(str(tmp_path / "zoneinfo"))

    assert open_zone_now(tmp_path, datetime(2026, 12, 5, 20, 0, tzinfo=UTC)) is None


def test_a_fixed_offset_zone_file_reads_back_as_written(tmp_path: Path) -> None:
    (tmp_path / "Test").mkdir()
    for minutes in (-23 * 60 - 45, -90, 0, 5 * 60 + 45, 23 * 60 + 45):
        (tmp_path / "Test" / "Zone").write_bytes(fixed_offset_tzif(minutes * 60))
        with (tmp_path / "Test" / "Zone").open("rb") as f:
            zone = zoneinfo.ZoneInfo.from_file(f, key="Test/Zone")
        for at in (datetime(2026, 1, 1, tzinfo=UTC), datetime(2046, 7, 1, tzinfo=UTC)):
            assert at.astimezone(zone).utcoffset() == timedelta(minutes=minutes)
