"""`casework escalate-now`, `acknowledge` and `de-escalate` against the dev server (E3, E4).

The ladder's timing is tested on the time-skipping server (tests/test_escalation_ladder.py);
here: what a Customer Care agent and an Escalation Manager type, and what they are told.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from casework.store import Store
from tests.conftest import Desk, eventually
from tests.test_cli import OPEN, act_ok, cli, cli_env, opened_case
from tests.test_search_attributes import until_listed

pytestmark = pytest.mark.timeout(60)
__all__ = ["cli_env"]


async def answered(desk: Desk) -> str:
    case_id = opened_case(await cli(*OPEN[:-4], "--priority", "P3", *OPEN[-2:]), desk)
    await desk.until(case_id, lambda v: v.state == "in_progress")
    await act_ok("--profile", "cc-dana", "respond", case_id, "--text", "Looking at it")
    return case_id


async def test_escalate_by_phone_acknowledge_and_de_escalate(cli_env: Desk, store: Store) -> None:
    """E3: Customer Care records a phone escalation and the customer hears at once who has
    it; that manager acknowledges and later de-escalates; E4: the priority rises with it."""
    case_id = await answered(cli_env)
    out = await act_ok(
        *("--profile", "cc-dana", "escalate-now", case_id, "--for", "acme-alice"),
        *("--reason", "business_impact", "--note", "Plant stopped", "--priority", "p1"),
    )
    match = re.search(rf"escalation {case_id}-E1: with (em-\w+) \(", out)
    assert match, out
    manager = match.group(1)
    assert "priority P1" in out

    out = await act_ok("--profile", manager, "acknowledge", case_id)
    assert f"{case_id}-E1 acknowledged" in out
    shown = (await cli("show", case_id)).stdout
    assert "escalations (E3)" in shown and "acknowledged" in shown  # rich may wrap the rest
    out = await act_ok("--profile", manager, "de-escalate", case_id, "--note", "on track")
    assert f"{case_id}-E1 de-escalated" in out
    shown = (await cli("show", case_id)).stdout
    assert "escalation_ended" in shown and "P1" in shown

    def ended() -> list[dict[str, Any]]:  # the case writes its row in the background
        rows = store.escalations.rows(case_id)
        return rows if all(r["ended_at"] is not None for r in rows) else []

    [row] = await eventually(ended)
    assert (row["channel"], row["priority"], row["acknowledged_by"]) == ("phone", "P1", manager)
    assert row["ended_at"] is not None


async def test_bad_escalations_are_refused_with_what_to_do(cli_env: Desk, store: Store) -> None:
    """E3: bad input exits 2 before anything is sent; a refusal by the door or the case exits
    1; none leaves an escalation behind. Acting for a caller is Customer Care's only."""
    case_id = await answered(cli_env)
    old_way = await cli(
        *("escalate-now", case_id, "--reason", "other"),
        *("--by-phone", "--recorded-by", "cc-dana"),
    )
    assert old_way.exit_code == 2 and "No such option: --by-phone" in old_way.output

    bad_reason = await cli("--profile", "acme-alice", "escalate-now", case_id, "--reason", "bored")
    assert bad_reason.exit_code == 2
    assert "lack_of_progress" in bad_reason.output

    not_l0 = await cli(
        *("--profile", "gec-hugo", "escalate-now", case_id, "--for", "acme-alice"),
        *("--reason", "expertise"),
    )
    assert not_l0.exit_code == 1
    assert "gec-hugo is an L3 engineer" in not_l0.output
    assert "Customer Care (L0)" in not_l0.output

    customer = await cli(
        *("--profile", "acme-bob", "escalate-now", case_id, "--for", "acme-alice"),
        *("--reason", "expertise"),
    )
    assert customer.exit_code == 1
    assert "acme-bob is a contact of acme" in customer.output
    assert "only Customer Care (L0) acts for someone else" in " ".join(customer.output.split())

    stranger = await cli("--profile", "em-ines", "acknowledge", case_id)
    assert stranger.exit_code == 1
    assert "the case has no active escalation" in stranger.output
    assert store.escalations.rows(case_id) == []


async def test_a_manager_lists_the_escalated_cases(cli_env: Desk) -> None:
    """E3: the Web UI and `temporal workflow list --query 'CaseEscalated = true'` find the
    cases with an active escalation, and no longer once it has ended."""
    await answered(cli_env)  # a case nobody escalates is never listed
    escalated = await answered(cli_env)
    out = await act_ok(
        "--profile", "acme-alice", "escalate-now", escalated, "--reason", "expertise"
    )
    manager = re.search(r"with (em-\w+) \(", out)
    assert manager, out
    await until_listed(cli_env, "CaseEscalated = true", {escalated})
    await until_listed(cli_env, "CaseEscalated = false", set())  # never escalated: unset
    await act_ok("--profile", manager.group(1), "de-escalate", escalated)
    await until_listed(cli_env, "CaseEscalated = true", set())
    await until_listed(cli_env, "CaseEscalated = false", {escalated})


async def test_escalate_now_answers_in_json_for_scripts(cli_env: Desk) -> None:
    """E3 (issue 11): `escalate-now --output json` prints the action's result as one JSON
    object: the escalation and the Escalation Manager who has it, nothing else on stdout."""
    case_id = await answered(cli_env)
    out = await act_ok(
        *("--profile", "acme-alice", "escalate-now", case_id, "--reason", "expertise"),
        *("--output", "json"),
    )
    answer = json.loads(out)
    assert answer["case_id"] == case_id and answer["action"] == "escalate_now"
    assert answer["escalation_id"] == f"{case_id}-E1"
    assert re.fullmatch(r"em-\w+ \(.+\)", answer["escalation_manager"]), answer
