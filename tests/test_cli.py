"""`casework` commands against the dev server with a real worker (the `dev_desk` fixture).

The CLI runs `asyncio.run` itself, so each command runs in a thread while the worker keeps
running on the test's event loop.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from casework.cli import app
from casework.client import intake_id
from casework.domain.models import CaseView
from casework.settings import DEMO_DIRECTORY
from casework.store import Store
from casework.store.tables import case_numbers
from tests.conftest import ENGINE_RING, SETTLE_TIMEOUT, Desk, target_of

pytestmark = pytest.mark.timeout(60)

OPEN = [
    "open",
    "--channel",
    "web",
    "--account",
    "acme",
    "--contact",
    "acme-alice",
    "--product",
    "FortiGate",
    "--version",
    "7.4.3",
    "--priority",
    "P1",
    "--description",
    "HA cluster fails over every few minutes",
]


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, dev_env: WorkflowEnvironment, dev_desk: Desk, store: Store
) -> Desk:
    """The CLI pointed at the test's server, task queue and database."""
    monkeypatch.setenv("TEMPORAL_ADDRESS", target_of(dev_env))
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "default")
    monkeypatch.setenv("CASEWORK_TASK_QUEUE", dev_desk.task_queue)
    monkeypatch.setenv("CASEWORK_DB_URL", store.url)
    monkeypatch.setenv("CASEWORK_KEYRING", ENGINE_RING.to_json())
    for name in ("TEMPORAL_API_KEY", "TEMPORAL_PROFILE", "TEMPORAL_TLS"):
        monkeypatch.delenv(name, raising=False)
    return dev_desk


async def cli(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


def opened_case(result: Result, desk: Desk) -> str:
    assert result.exit_code == 0, result.output
    match = re.search(r"case-\d{6,}", result.stdout)
    assert match, result.stdout
    if hasattr(desk, "opened"):
        desk.opened.append(match.group())  # terminated at the end of the test if still open
    return match.group()


async def act_ok(*args: str) -> str:
    result = await cli(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


async def listed(desk: Desk, case_id: str, *filters: str) -> list[dict[str, Any]]:
    """`casework list` with filters, polled until the case shows (visibility lags)."""
    deadline = asyncio.get_running_loop().time() + SETTLE_TIMEOUT
    while asyncio.get_running_loop().time() < deadline:
        result = await cli("list", *filters, "--limit", "1000", "--output", "json")
        assert result.exit_code == 0, result.output
        rows = json.loads(result.stdout)
        if any(r["case_id"] == case_id for r in rows):
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"{case_id} never listed with {filters} in {SETTLE_TIMEOUT:.0f} s")


async def test_a_case_from_open_to_close_through_every_command(cli_env: Desk) -> None:
    """E1-E5, S2, S4: every action by its proper actor, as the CLI prints it."""
    desk = cli_env
    case_id = opened_case(await cli(*OPEN), desk)
    await desk.until(case_id, lambda v: v.state == "in_progress")

    shown = await cli("show", case_id.removeprefix("case-").lstrip("0"))
    assert shown.exit_code == 0, shown.output
    for fact in (case_id, "in_progress", "Dana Park (cc-dana)", "PLATINUM", "15m", "left"):
        assert fact in shown.stdout
    assert "assigned" in shown.stdout  # the feed

    as_json = CaseView.model_validate_json((await cli("show", case_id, "--output", "json")).stdout)
    assert as_json.owner is not None and as_json.owner.engineer_id == "cc-dana"

    rows = await listed(
        desk,
        case_id,
        *("--state", "in_progress", "--priority", "p1", "--tier", "platinum"),
        *("--account", "acme", "--not-breached"),
    )
    row = next(r for r in rows if r["case_id"] == case_id)
    assert (row["owner"], row["level"], row["breached"]) == ("cc-dana", "L0", False)

    out = await act_ok("respond", case_id, "--as", "cc-dana", "--text", "Looking at it")
    assert "SLA clock stopped" in out
    assert "stopped: first response" in (await cli("show", case_id)).stdout
    await act_ok("comment", case_id, "--as", "acme-alice", "--text", "Thanks")
    out = await act_ok(
        "request-info", case_id, "--as", "cc-dana", "--item", "logs", "--item", "configuration"
    )
    assert "waiting_on_customer" in out
    assert "logs, configuration" in (await cli("show", case_id)).stdout
    await act_ok("provide-info", case_id, "--as", "acme-bob", "--text", "debug log attached")
    out = await act_ok("change-priority", case_id, "--as", "acme-alice", "--priority", "P2")
    assert "priority P2" in out
    for owner, level in (("cc-dana", "L1"), ("gsc-erin", "L2"), ("gsc-grace", "L3")):
        out = await act_ok("escalate", case_id, "--as", owner, "--reason", "needs more depth")
        assert f"escalated to {level}" in out
        await desk.until(case_id, lambda v: v.state == "in_progress")
    out = await act_ok("file-pr", case_id, "--as", "gec-hugo", "--summary", "HA heartbeat bug")
    assert re.search(r"filed PR-\d+", out)
    await act_ok("resolve", case_id, "--as", "gec-hugo", "--resolution", "fixed in 7.4.4")
    await act_ok("reopen", case_id, "--as", "acme-alice", "--reason", "still fails over")
    await act_ok("resolve", case_id, "--as", "gec-hugo", "--resolution", "fixed in 7.4.5")
    out = await act_ok("close", case_id, "--as", "acme-alice")
    assert "state closed" in out

    final = await cli("show", case_id, "--output", "json")
    view = CaseView.model_validate_json(final.stdout)
    assert (view.state, view.level.value, view.priority.value) == ("closed", "L3", "P2")
    assert view.problem_report and view.problem_report.startswith("PR-")
    await listed(desk, case_id, "--state", "closed")

    late = await cli("comment", case_id, "--as", "acme-alice", "--text", "one more thing")
    assert late.exit_code == 1 and "is closed" in late.stderr

    outbox = await cli("outbox", "--case", case_id, "--output", "json")
    told = {(n["recipient_id"], n["subject"]) for n in json.loads(outbox.stdout)}
    assert ("acme-alice", f"{case_id} opened") in told
    assert ("acme-alice", f"{case_id} resolved") in told


async def test_a_refused_action_says_why_and_changes_nothing(cli_env: Desk) -> None:
    """S2: only the owner's response stops the clock; anyone else is refused, exit 1."""
    desk = cli_env
    case_id = opened_case(await cli(*OPEN), desk)
    before = await desk.until(case_id, lambda v: v.state == "in_progress")

    result = await cli("respond", case_id, "--as", "gsc-erin", "--text", "I'll take it")
    assert result.exit_code == 1
    assert "only the engineer who owns the case" in result.stderr
    assert "gsc-erin is not the owner" in result.stderr
    assert "Traceback" not in result.output and "ActionRefused:" not in result.stderr

    after = await desk.view(case_id)
    assert (after.state, after.owner, after.sla.responded_at) == (
        before.state,
        before.owner,
        None,
    )
    assert after.feed[-1].refused


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            [*OPEN[: OPEN.index("--priority") + 1], "P7", "--description", "x"],
            "--priority: priority must be P1, P2 or P3, not 'P7'",
        ),
        ([*OPEN[:-2], "--description", "   "], "--description: must not be empty"),
        (["show", "case-12x"], "'case-12x' is not a case number; write it like case-000123"),
        (["respond", "abc", "--as", "cc-dana", "--text", "hi"], "is not a case number"),
        (["list", "--state", "sleeping"], "unknown state 'sleeping'; use one of: queued"),
        (["list", "--tier", "silver"], "unknown tier 'silver'; use one of: GOLD, PLATINUM"),
        (["list", "--priority", "P0"], "unknown priority 'P0'; use one of: P1, P2, P3"),
        (
            ["request-info", "1", "--as", "cc-dana", "--item", "horoscope"],
            "--item: Input should be 'hardware'",
        ),
        (["change-priority", "1", "--as", "x", "--priority", "P9"], "--priority:"),
    ],
)
async def test_malformed_input_is_refused_before_anything_is_sent(
    cli_env: Desk, args: list[str], says: str
) -> None:
    result = await cli(*args)
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert "Traceback" not in result.output


async def test_the_same_request_id_gives_the_same_case(cli_env: Desk) -> None:
    request_id = f"portal-{uuid.uuid4().hex[:8]}"
    first = opened_case(await cli(*OPEN, "--request-id", request_id), cli_env)
    again = await cli(*OPEN, "--request-id", request_id, "--output", "json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {"case_id": first, "created": False}


async def test_an_unknown_account_is_refused_and_no_case_starts(
    cli_env: Desk, store: Store
) -> None:
    request_id = f"portal-{uuid.uuid4().hex[:8]}"
    args = [*OPEN, "--request-id", request_id]
    args[args.index("acme")] = "initech"
    result = await cli(*args)
    assert result.exit_code == 1
    assert "case not opened: unknown account 'initech'" in result.stderr

    intake = cli_env.client.get_workflow_handle(intake_id(request_id))
    assert (await intake.describe()).status is WorkflowExecutionStatus.FAILED
    history = await intake.fetch_history()
    started = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    assert not any(e.event_type == started for e in history.events)
    with store.engine.connect() as conn:
        numbered = conn.execute(
            select(case_numbers).where(case_numbers.c.request_id == request_id)
        ).first()
    assert numbered is None


async def test_an_unreachable_server_is_named_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{port}")
    monkeypatch.setenv("CASEWORK_KEYRING", ENGINE_RING.to_json())
    result = await cli("show", "1")
    assert result.exit_code == 1
    assert f"cannot reach Temporal at 127.0.0.1:{port}" in result.stderr
    assert "bash scripts/engine" in result.stderr


async def test_a_bad_directory_file_is_shown_by_line_and_not_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    monkeypatch.setenv("CASEWORK_DB_URL", store.url)
    monkeypatch.setenv("CASEWORK_KEYRING", ENGINE_RING.to_json())
    text = DEMO_DIRECTORY.read_text()
    bad = tmp_path / "directory.yaml"
    bad.write_text(text.replace("tier: GOLD", "tier: BRONZE").replace("users: 1200", "users: 12"))
    gold_line = 1 + text.splitlines().index("    tier: GOLD")
    acme_line = 1 + text.splitlines().index("  - id: acme")

    for command in ("check", "load"):
        result = await cli("directory", command, str(bad))
        assert result.exit_code == 2, result.output
        assert f"{bad}:{gold_line}: accounts.1.tier: Input should be 'GOLD' or 'PLATINUM'" in (
            result.stderr
        )
        assert f"{bad}:{acme_line}: accounts.0: account acme has 12 users" in result.stderr  # A1
        assert "Traceback" not in result.output
    acme = store.directory.account("acme")
    assert acme is not None and acme.users == 1200

    good = await cli("directory", "check", str(DEMO_DIRECTORY))
    assert good.exit_code == 0 and "4 accounts, 6 contacts" in good.stdout


async def test_a_bad_policy_file_is_shown_by_line(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text(
        "first_response_targets:\n"
        "  GOLD: {P1: 30m, P2: 1h, P3: 8h}\n"
        "  PLATINUM:\n"
        "    P1: soon\n"
        "    P2: 1h\n"
        "    P3: 4h\n"
    )
    result = await cli("policy", "check", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:4: first_response_targets.PLATINUM.P1: 'soon' is not a duration" in (
        result.stderr
    )
