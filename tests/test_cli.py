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
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
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
from tests.cli_door import serving_door, write_profiles
from tests.conftest import ENGINE_RING, Desk, target_of
from tests.waiting import eventually

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


@pytest_asyncio.fixture
async def cli_env(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    dev_env: WorkflowEnvironment,
    dev_desk: Desk,
    store: Store,
) -> AsyncIterator[Desk]:
    """The CLI as a user runs it: the door served over the test's server, task queue, database
    and state folder, and a profiles file in that folder with a key for every demo person
    (default acme-alice; a test picks another with --profile). Operator commands (outbox,
    account) still use the database and Temporal directly."""
    state_dir = tmp_path / "state"
    monkeypatch.setenv("TEMPORAL_ADDRESS", target_of(dev_env))
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "default")
    monkeypatch.setenv("CASEWORK_TASK_QUEUE", dev_desk.task_queue)
    monkeypatch.setenv("CASEWORK_DB_URL", store.url)
    monkeypatch.setenv("CASEWORK_STATE_DIR", str(state_dir))
    monkeypatch.setenv("CASEWORK_KEYRING", ENGINE_RING.to_json())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # not the user's own
    for name in (
        *("TEMPORAL_API_KEY", "TEMPORAL_PROFILE", "TEMPORAL_TLS"),
        *("CASEWORK_API_KEY", "CASEWORK_PROFILE", "CASEWORK_URL"),
    ):
        monkeypatch.delenv(name, raising=False)
    async with serving_door(
        store,
        target=target_of(dev_env),
        namespace="default",
        task_queue=dev_desk.task_queue,
        state_dir=state_dir,
        case_options=dev_desk.case_options,
    ) as url:
        write_profiles(store, url, state_dir / "profiles.toml")
        yield dev_desk


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


async def listed(
    desk: Desk, case_id: str, *filters: str, profile: str = "acme-alice"
) -> list[dict[str, Any]]:
    """`casework list` with filters by `profile` (a contact lists their own account's cases),
    polled until the case shows (visibility lags)."""

    async def rows() -> list[dict[str, Any]]:
        result = await cli(
            "--profile", profile, "list", *filters, "--limit", "1000", "--output", "json"
        )
        assert result.exit_code == 0, result.output
        return list(json.loads(result.stdout))

    return await eventually(
        rows,
        every=0.1,
        until=lambda rows: any(r["case_id"] == case_id for r in rows),
        what=f"{case_id} listed with {filters}",
    )


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

    out = await act_ok("--profile", "cc-dana", "respond", case_id, "--text", "Looking at it")
    assert "SLA clock stopped" in out
    assert "stopped: first response" in (await cli("show", case_id)).stdout
    await act_ok("--profile", "acme-alice", "comment", case_id, "--text", "Thanks")
    out = await act_ok(
        "--profile", "cc-dana", "request-info", case_id, "--item", "logs", "--item", "configuration"
    )
    assert "waiting_on_customer" in out
    assert "logs, configuration" in (await cli("show", case_id)).stdout
    await act_ok("--profile", "acme-bob", "provide-info", case_id, "--text", "debug log attached")
    out = await act_ok("--profile", "acme-alice", "change-priority", case_id, "--priority", "P2")
    assert "priority P2" in out
    for owner, level in (("cc-dana", "L1"), ("gsc-erin", "L2"), ("gsc-grace", "L3")):
        out = await act_ok("--profile", owner, "escalate", case_id, "--reason", "needs more depth")
        assert f"escalated to {level}" in out
        await desk.until(case_id, lambda v: v.state == "in_progress")
    out = await act_ok("--profile", "gec-hugo", "file-pr", case_id, "--summary", "HA heartbeat bug")
    assert re.search(r"filed PR-\d+", out)
    await act_ok("--profile", "gec-hugo", "resolve", case_id, "--resolution", "fixed in 7.4.4")
    await act_ok("--profile", "acme-alice", "reopen", case_id, "--reason", "still fails over")
    await act_ok("--profile", "gec-hugo", "resolve", case_id, "--resolution", "fixed in 7.4.5")
    out = await act_ok("--profile", "acme-alice", "close", case_id)
    assert "state closed" in out

    final = await cli("show", case_id, "--output", "json")
    view = CaseView.model_validate_json(final.stdout)
    assert (view.state, view.level.value, view.priority.value) == ("closed", "L3", "P2")
    assert view.problem_report and view.problem_report.startswith("PR-")
    await listed(desk, case_id, "--state", "closed")

    late = await cli("--profile", "acme-alice", "comment", case_id, "--text", "one more thing")
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

    result = await cli("--profile", "gsc-erin", "respond", case_id, "--text", "I'll take it")
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
        (["respond", "abc", "--text", "hi"], "is not a case number"),
        (["list", "--state", "sleeping"], "unknown state 'sleeping'; use one of: queued"),
        (["list", "--tier", "gold!"], "unknown tier 'gold!': 'GOLD!' is not a tier's name"),
        (["list", "--priority", "P0"], "unknown priority 'P0'; use one of: P1, P2, P3"),
        (
            ["request-info", "1", "--item", "horoscope"],
            "--item: Input should be 'hardware'",
        ),
        (["change-priority", "1", "--priority", "P9"], "--priority:"),
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
    answer = json.loads(again.stdout)
    assert (answer["case_id"], answer["created"]) == (first, False)
    assert set(answer) <= {"case_id", "created", "owner"}  # owner: E1, routed as it opened


async def test_an_unknown_account_is_refused_and_no_case_starts(
    cli_env: Desk, store: Store
) -> None:
    """Customer Care takes a call for an account the directory does not know: intake refuses
    it and no case starts."""
    request_id = f"phone-{uuid.uuid4().hex[:8]}"
    args = ["--profile", "cc-dana", *OPEN, "--request-id", request_id]
    args[args.index("acme")] = "initech"
    args[args.index("web")] = "phone"
    result = await cli(*args)
    assert result.exit_code == 1, result.output
    assert "case not opened: unknown account 'initech'" in result.stderr

    scoped = f"cc-dana:{request_id}"  # the door makes a key the caller's own (issue 24)
    intake = cli_env.client.get_workflow_handle(intake_id(scoped))
    assert (await intake.describe()).status is WorkflowExecutionStatus.FAILED
    history = await intake.fetch_history()
    started = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    assert not any(e.event_type == started for e in history.events)
    with store.engine.connect() as conn:
        numbered = conn.execute(
            select(case_numbers).where(case_numbers.c.request_id == scoped)
        ).first()
    assert numbered is None


async def test_a_contact_opens_for_their_own_account_only(cli_env: Desk) -> None:
    """The door fills in a contact's account and themselves; another account is refused."""
    short = ["open", *OPEN[7:]]  # no --channel, --account, --contact
    case_id = opened_case(await cli("--profile", "acme-bob", *short, "--output", "json"), cli_env)
    view = await cli_env.until(case_id, lambda v: v.state == "in_progress")
    assert (view.channel.value, view.account_id, view.contact_id) == ("web", "acme", "acme-bob")

    other = await cli("--profile", "globex-carol", *OPEN)
    assert other.exit_code == 1, other.output
    assert "globex-carol is a contact of globex" in other.stderr


# --- who you are: credentials and profiles ---------------------------------------------------


@pytest.fixture
def no_credential(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No key anywhere: an empty config folder and state folder. Returns the state folder."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("CASEWORK_STATE_DIR", str(tmp_path / "state"))
    for name in ("CASEWORK_API_KEY", "CASEWORK_PROFILE", "CASEWORK_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "state"


async def test_without_a_credential_a_command_says_how_to_get_one(no_credential: Path) -> None:
    result = await cli("show", "1")
    assert result.exit_code == 1
    said = " ".join(result.stderr.split())
    assert "no credential" in said
    assert f"writes a profile per demo person to {no_credential / 'profiles.toml'}" in said
    assert "casework keys create" in said and "CASEWORK_API_KEY" in said
    assert "Traceback" not in result.output

    unknown = await cli("--profile", "acme-zed", "show", "1")
    assert unknown.exit_code == 2 and "there is no profile 'acme-zed'" in unknown.stderr


async def test_a_bad_profiles_file_is_named_with_the_problem(
    no_credential: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = no_credential.parent / "config" / "casework" / "profiles.toml"
    profiles.parent.mkdir(parents=True)
    profiles.write_text('default = "a"\n[profiles.a\nkey = "cw_x"\n')
    result = await cli("list")
    assert result.exit_code == 2, result.output
    assert f"the profiles file {profiles} is not valid TOML" in result.stderr
    assert "line 2" in result.stderr

    profiles.write_text('[profiles.a]\nurl = "http://127.0.0.1:8234"\n')
    result = await cli("--profile", "a", "list")
    assert result.exit_code == 2 and "[profiles.a] has no key" in result.stderr

    profiles.write_text('default = "a"\n[profiles.a]\nkey = "cw_x"\n')
    profiles.chmod(0o644)
    listed_profiles = await cli("profiles")
    assert listed_profiles.exit_code == 0, listed_profiles.output
    assert f"* a  (CASEWORK_URL or the local door)  {profiles}" in listed_profiles.stdout
    assert "cw_x" not in listed_profiles.output  # never a key
    assert f"others can read it (mode 0644): chmod 600 {profiles}" in listed_profiles.stderr


async def test_an_unreachable_door_is_named_with_the_fix(
    no_credential: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("CASEWORK_API_KEY", "cw_0_x")
    monkeypatch.setenv("CASEWORK_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("CASEWORK_KEYRING", ENGINE_RING.to_json())
    result = await cli("show", "1")
    assert result.exit_code == 1
    assert (
        f"cannot reach the casework API at http://127.0.0.1:{port}: start the engine "
        "(casework up) or set CASEWORK_URL"
    ) in result.stderr


async def test_whoami_names_the_person_and_the_credential(
    cli_env: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = tmp_path / "state" / "profiles.toml"
    kara = await cli("--profile", "usc-kara", "whoami")
    assert kara.exit_code == 0, kara.output
    for line in (
        "id: usc-kara",
        "kind: engineer",
        "restricted member (U2): yes",
        "via: api-key",
        f"credential: profile usc-kara in {profiles}",
    ):
        assert line in kara.stdout

    monkeypatch.setenv("CASEWORK_PROFILE", "acme-bob")
    bob = json.loads((await cli("whoami", "--output", "json")).stdout)
    assert (bob["id"], bob["kind"], bob["account"], bob["profile"]) == (
        "acme-bob",
        "contact",
        "acme",
        "acme-bob",
    )
    assert "key" not in bob

    monkeypatch.delenv("CASEWORK_PROFILE")
    assert "id: acme-alice" in (await cli("whoami")).stdout  # the file's default

    url = bob["url"]
    monkeypatch.setenv("CASEWORK_API_KEY", "cw_0000_forged")
    monkeypatch.setenv("CASEWORK_URL", url)
    forged = await cli("whoami")
    assert forged.exit_code == 1
    said = " ".join(forged.stderr.split())
    assert "the casework API refused the credential from CASEWORK_API_KEY" in said
    assert "casework keys create" in said


async def test_as_is_gone(cli_env: Desk) -> None:
    """Who acts comes from the credential; nobody types it."""
    for command in (["show", "1"], ["respond", "1", "--text", "hi"], ["accept", "1"]):
        result = await cli(*command, "--as", "cc-dana")
        assert result.exit_code == 2 and "No such option: --as" in result.output


async def test_customer_care_acts_for_a_caller_and_a_customer_may_not(cli_env: Desk) -> None:
    """E3, U6: what a caller asks for by phone is recorded by Customer Care with --for; the
    feed names both. Anyone else acting for someone is refused, and nothing changes."""
    desk = cli_env
    case_id = opened_case(await cli(*OPEN), desk)
    await desk.until(case_id, lambda v: v.state == "in_progress")

    bob = await cli(
        "--profile", "acme-bob", "comment", case_id, "--for", "acme-alice", "--text", "x"
    )
    assert bob.exit_code == 1
    assert "only Customer Care (L0) acts for someone else" in " ".join(bob.stderr.split())
    engineer = await cli(
        "--profile", "gsc-erin", "comment", case_id, "--for", "acme-alice", "--text", "x"
    )
    assert engineer.exit_code == 1

    await act_ok(
        "--profile", "cc-dana", "comment", case_id, "--for", "acme-alice", "--text", "by phone"
    )
    view = await desk.until(case_id, lambda v: any(e.text == "by phone" for e in v.feed))
    [entry] = [e for e in view.feed if e.text == "by phone"]
    assert "acme-alice" in entry.actor
    assert not any(e.text == "x" for e in view.feed)


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
        assert (  # A1: a tier the policy does not sell, at the account's line
            f"{bad}:{gold_line}: accounts.1.tier: account globex is on the BRONZE tier, which "
            "the SLA policy does not sell (it sells GOLD, PLATINUM)"
        ) in result.stderr
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
