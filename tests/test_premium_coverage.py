"""Premium coverage (A3) from the outside: CSM-Lite, CSM and Resident Engineer accounts have
an expert who gets the account's new cases first during their business hours.

Workflow tests run on the time-skipping server and pick their own instant from its clock
(inside or outside the expert's hours, Eastern). The policy observes no federal holidays, so
the expert's hours are exactly Monday to Friday 9:00-17:00 America/New_York.
"""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from casework.cli import app
from casework.domain.business_calendar import calendar_for
from casework.domain.directory import Directory
from casework.domain.models import CaseView
from casework.domain.sla import DEFAULT_POLICY, SlaPolicy
from casework.engine import load_directory
from casework.settings import DEMO_DIRECTORY
from casework.store import Store
from tests.conftest import ENGINE_RING, Desk, eventually
from tests.test_case_sla import skip_to
from tests.test_directory_file import DEMO, line_of, refusal_of
from tests.test_up import CASEWORK, clean_env, free_port
from tests.us_citizen_desk import assigned_engineers

EXPERT = "sme-olivia"
INITECH = {"account_id": "initech", "contact_id": "initech-peter"}
ACCEPT_WITHIN = timedelta(minutes=15)

PREMIUM_ACCOUNT = """
  - id: initech
    name: Initech
    tier: PLATINUM
    users: 600
    premium: {offering: csm, expert: sme-olivia}
    contacts:
      - {id: initech-peter, name: Peter Gibbons, email: peter@initech.example}
"""
EXPERT_ENGINEER = (
    "  - {id: sme-olivia, name: Olivia Stone, level: L2, zone: eastern, "
    "skills: [FortiGate, FortiAnalyzer], email: olivia@vendor.example}\n"
)


def premium_directory_text() -> str:
    text = DEMO.replace("accounts:\n", "accounts:" + PREMIUM_ACCOUNT, 1)
    return text.replace("engineers:\n", "engineers:\n" + EXPERT_ENGINEER, 1)


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    path = tmp_path / "premium-directory.yaml"
    path.write_text(premium_directory_text(), encoding="utf-8")
    return load_directory(path)


@pytest.fixture
def policy() -> SlaPolicy:
    """The S1 table; the vendor's calendar without federal holidays (hours are exact)."""
    return DEFAULT_POLICY.model_copy(
        update={
            "us_citizen_support": DEFAULT_POLICY.us_citizen_support.model_copy(
                update={"federal_holidays": False}
            )
        }
    )


EXPERT_HOURS = calendar_for("America/New_York")


async def inside_the_experts_hours(env: WorkflowEnvironment) -> None:
    """Skip to an hour after the expert's next opening (after the current window, if open)."""
    at = await env.get_current_time()
    if EXPERT_HOURS.is_open(at):
        at = EXPERT_HOURS.next_change(at)
    await skip_to(env, EXPERT_HOURS.next_open(at) + timedelta(hours=1))


async def outside_the_experts_hours(env: WorkflowEnvironment) -> None:
    """Skip to an hour after the expert's next closing."""
    now = await env.get_current_time()
    closes = EXPERT_HOURS.next_change(EXPERT_HOURS.next_open(now))
    await skip_to(env, closes + timedelta(hours=1))


def kinds(view: CaseView) -> list[str]:
    return [e.kind for e in view.feed]


def to_expert(store: Store, case_id: str) -> list[dict[str, Any]]:
    return [n for n in store.outbox.rows(case_id) if n["recipient_id"] == EXPERT]


async def test_inside_the_experts_hours_the_case_is_offered_and_the_expert_takes_it(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """A3: a new case of a CSM account, inside the expert's business hours, is offered to the
    expert first (nobody else is assigned meanwhile); the expert accepts and owns it."""
    await inside_the_experts_hours(env)
    case_id = await desk.open(**INITECH)
    offered = await desk.until(case_id, lambda v: "offered_to_expert" in kinds(v))
    assert offered.state == "queued" and offered.owner is None
    assert offered.queue == "premium"
    invitation = await eventually(lambda: to_expert(store, case_id))
    assert f"casework accept {case_id} --as {EXPERT}" in invitation[0]["body"]

    result = await desk.act(case_id, "accept", actor=EXPERT)
    assert result.message == "the case is yours"
    view = await desk.view(case_id)
    assert view.state == "in_progress"
    assert view.owner is not None and view.owner.engineer_id == EXPERT
    assert view.level == "L2" and view.queue == "premium"
    await desk.act(case_id, "respond", actor=EXPERT, text="Olivia here, on it")
    await desk.act(case_id, "close", actor="initech-peter")


async def test_the_intake_leaves_a_premium_accounts_new_case_to_the_offer(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """A3 before E1: the intake does not route a premium account's new case (the case offers
    it to the expert first): the open names nobody, and nobody else is assigned."""
    await inside_the_experts_hours(env)
    opened = await desk.open_request(desk.request(**INITECH))
    assert opened.case_id and opened.owner is None, opened
    offered = await desk.until(opened.case_id, lambda v: "offered_to_expert" in kinds(v))
    assert offered.owner is None
    assert assigned_engineers(store, opened.case_id) == []
    await desk.act(opened.case_id, "close", actor="initech-peter")


async def test_an_expert_who_does_not_accept_in_time_is_told_and_routing_falls_back(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """A3: the expert has `premium_accept_within` (15m by default) to accept; then the case is
    routed normally (Customer Care at L0), the expert is told, and accepting late is refused
    on the feed."""
    await inside_the_experts_hours(env)
    case_id = await desk.open(**INITECH)
    offered = await desk.until(case_id, lambda v: "offered_to_expert" in kinds(v))

    await skip_to(env, offered.opened_at + ACCEPT_WITHIN - timedelta(seconds=5))
    still = await desk.view(case_id)
    assert still.owner is None and "expert_did_not_accept" not in kinds(still)

    await env.sleep(timedelta(seconds=10))
    view = await desk.until(case_id, lambda v: v.state == "in_progress")
    assert view.owner is not None and view.owner.engineer_id == "cc-dana"
    assert "expert_did_not_accept" in kinds(view)
    told = await eventually(
        lambda: len(to_expert(store, case_id)) == 2 and to_expert(store, case_id)
    )
    assert "went to the support queues" in told[1]["subject"]

    with pytest.raises(WorkflowUpdateFailedError) as late:
        await desk.act(case_id, "accept", actor=EXPERT)
    assert "not on offer" in str(late.value.cause)
    refused = (await desk.view(case_id)).feed[-1]
    assert refused.kind == "accept" and refused.refused
    await desk.act(case_id, "close", actor="initech-peter")


async def test_an_offer_to_the_expert_stands_while_the_case_moves_to_a_new_version(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """A3 across a rollout (issue 28): a case on offer to the expert, asked to roll over, moves
    at once; the offer stands with its time left (nobody else assigned, the expert not told
    twice), the expert accepts on the next run and owns the case."""
    await inside_the_experts_hours(env)
    case_id = await desk.open(**INITECH)
    offered = await desk.until(case_id, lambda v: "offered_to_expert" in kinds(v))
    await eventually(lambda: to_expert(store, case_id))
    await desk.case(case_id).signal("roll_over")
    moved = await desk.until(case_id, lambda v: "continued" in kinds(v))
    assert (moved.state, moved.owner, moved.queue) == ("queued", None, "premium")
    assert kinds(moved).count("offered_to_expert") == 1
    assert "expert_did_not_accept" not in kinds(moved)
    result = await desk.act(case_id, "accept", actor=EXPERT)
    assert result.message == "the case is yours"
    view = await desk.view(case_id)
    assert view.owner is not None and view.owner.engineer_id == EXPERT
    assert len(to_expert(store, case_id)) == 1 + sum(  # the invitation, then the assignment
        1 for n in to_expert(store, case_id) if "assigned to you" in n["subject"]
    )
    assert view.opened_at == offered.opened_at
    await desk.act(case_id, "close", actor="initech-peter")


async def test_outside_the_experts_hours_the_case_is_routed_normally_and_the_expert_told(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """A3: outside the expert's business hours (their zone, weekdays), no offer: the case goes
    to normal routing at once, and the expert is told of it."""
    await outside_the_experts_hours(env)
    case_id = await desk.open(**INITECH)
    view = await desk.until(case_id, lambda v: v.state == "in_progress")
    assert view.owner is not None and view.owner.engineer_id == "cc-dana"
    assert "premium_out_of_hours" in kinds(view) and "offered_to_expert" not in kinds(view)
    assert "outside business hours" in view.feed[kinds(view).index("premium_out_of_hours")].text
    told = await eventually(lambda: to_expert(store, case_id))
    assert "outside your hours" in told[0]["subject"]
    await desk.act(case_id, "close", actor="initech-peter")


async def test_only_the_expert_may_accept_and_other_accounts_are_not_offered(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """A3: somebody else accepting is refused (on the feed, the offer stands); an accept
    without an actor is rejected at the door (not on the feed); a case of a Platinum account
    without premium coverage is routed normally in the same hours."""
    await inside_the_experts_hours(env)
    case_id = await desk.open(**INITECH)
    await desk.until(case_id, lambda v: "offered_to_expert" in kinds(v))
    with pytest.raises(WorkflowUpdateFailedError) as wrong:
        await desk.act(case_id, "accept", actor="gsc-grace")
    assert "offered to sme-olivia" in str(wrong.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as malformed:
        await desk.act(case_id, "accept", nobody="x")
    assert "nobody: Extra inputs are not permitted" in str(malformed.value.cause)
    view = await desk.view(case_id)
    assert view.state == "queued" and view.owner is None
    assert [(e.kind, e.refused) for e in view.feed[-2:]] == [
        ("offered_to_expert", False),
        ("accept", True),
    ]
    await desk.act(case_id, "accept", actor=EXPERT)

    plain = await desk.open(account_id="acme", contact_id="acme-alice")
    view = await desk.until(plain, lambda v: v.state == "in_progress")
    assert view.owner is not None and view.owner.engineer_id == "cc-dana"
    assert "offered_to_expert" not in kinds(view)
    await desk.act(plain, "close", actor="acme-alice")
    await desk.act(case_id, "close", actor="initech-peter")


# --- the directory (A3: refused on load) ----------------------------------------------------


def test_a_premium_account_and_its_expert_are_kept_in_the_database(store: Store) -> None:
    """A3: the loaded directory keeps the offering, the expert and the expert's zone."""
    account = store.directory.account("initech")
    assert account is not None and account.premium is not None
    assert (account.premium.offering, account.premium.expert) == ("csm", EXPERT)
    expert = store.directory.engineer(EXPERT)
    assert expert is not None and expert.zone == "America/New_York"


def test_casework_account_show_names_the_offering_and_the_expert(store: Store) -> None:
    """A3: the operator sees the account's premium coverage."""
    result = CliRunner().invoke(app, ["--db-url", store.url, "account", "show", "initech"])
    assert result.exit_code == 0, result.output
    assert "CSM, expert sme-olivia" in result.output
    plain = CliRunner().invoke(app, ["--db-url", store.url, "account", "show", "acme"])
    assert re.search(r"premium \(A3\) +no", plain.output), plain.output


def test_directory_accounts_shows_each_accounts_offering_and_expert(store: Store) -> None:
    """A3: the directory listing says which account has premium coverage and who its expert
    is, and that the others have none (issue 11)."""
    result = CliRunner().invoke(app, ["--db-url", store.url, "directory", "accounts"])
    assert result.exit_code == 0, result.output
    rows = {r.split("│")[1].strip(): r for r in result.output.splitlines() if r.count("│") > 2}
    assert "CSM, expert sme-olivia" in rows["initech"], result.output
    assert "expert" not in rows["acme"]


def test_a_gold_account_with_premium_coverage_is_refused_at_its_line(tmp_path: Path) -> None:
    """A3: upgrade to Platinum first; the whole directory is refused."""
    text = premium_directory_text().replace(
        "    tier: PLATINUM\n    users: 600", "    tier: GOLD\n    users: 600"
    )
    message = refusal_of(tmp_path, text)
    assert message.startswith(f"{line_of(text, 'premium: {offering: csm')}:")
    assert "upgrade to Platinum first (A3)" in message


def test_an_expert_who_is_not_our_engineer_is_refused(tmp_path: Path) -> None:
    text = premium_directory_text().replace("expert: sme-olivia}", "expert: sme-nobody}")
    message = refusal_of(tmp_path, text)
    assert "sme-nobody is not among the directory's engineers" in message
    assert message.startswith(f"{line_of(text, 'sme-nobody')}:")


def test_an_expert_without_a_zone_is_refused(tmp_path: Path) -> None:
    text = premium_directory_text().replace("level: L2, zone: eastern,", "level: L2,")
    message = refusal_of(tmp_path, text)
    assert "has no zone" in message and "sme-olivia" in message


@pytest.mark.parametrize(
    ("expert", "reason"),
    [
        (
            "nw-pia",
            "engineer nw-pia works for partner northwind-it, only on its partner cases (P3), so "
            "cannot be the CSM expert of initech, which is an account we support directly",
        ),
        (
            "usc-maya",
            "engineer usc-maya works only the US citizen restricted queue (U2) and account "
            "initech has no US Citizen Support, so usc-maya cannot be the CSM expert of initech",
        ),
    ],
    ids=["partner-engineer", "restricted-queue-only"],
)
def test_an_expert_the_accounts_cases_may_not_go_to_is_refused_at_the_line(
    tmp_path: Path, store: Store, expert: str, reason: str
) -> None:
    """A3 with P3/U2 (issue 11): an expert is offered the account's cases, so a partner's
    engineer or a restricted-queue-only engineer may not be a direct account's expert. The
    file is refused at the expert's line by `directory check` and `directory load`, and the
    database keeps the directory it had."""
    text = premium_directory_text().replace("expert: sme-olivia}", f"expert: {expert}}}")
    text = text.replace(f"{{id: {expert}, name:", f"{{id: {expert}, zone: eastern, name:")
    text = text.replace(f"  - id: {expert}\n", f"  - id: {expert}\n    zone: eastern\n")
    message = refusal_of(tmp_path, text)
    assert message.startswith(f"{line_of(text, f'expert: {expert}')}: accounts.0.premium.expert: ")
    assert reason in message, message

    path = tmp_path / "directory.yaml"
    for command in ("check", "load"):
        result = CliRunner().invoke(app, ["--db-url", store.url, "directory", command, str(path)])
        assert result.exit_code == 2, result.output
        assert f"{path}:{line_of(text, f'expert: {expert}')}: " in result.stderr
        assert reason in " ".join(result.stderr.split()), result.stderr
        assert "valid" not in result.stdout
    account = store.directory.account("initech")
    assert account is not None and account.premium is not None
    assert account.premium.expert == EXPERT, "the loaded directory is unchanged"


def test_casework_up_refuses_such_an_expert_before_starting_anything(tmp_path: Path) -> None:
    """A3 (issue 11): `casework up --directory` checks the file first: exit 2, the line and
    the reason, nothing started."""
    text = premium_directory_text().replace("expert: sme-olivia}", "expert: nw-pia}")
    text = text.replace("{id: nw-pia, name:", "{id: nw-pia, zone: eastern, name:")
    bad = tmp_path / "directory.yaml"
    bad.write_text(text, encoding="utf-8")
    state = tmp_path / "state"
    result = subprocess.run(
        [CASEWORK, "up", "--port", str(free_port()), "--ui-port", str(free_port())]
        + ["--state-dir", str(state), "--directory", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert result.returncode == 2, result.stderr
    assert f"{bad}:{line_of(text, 'expert: nw-pia')}: accounts.0.premium.expert: " in result.stderr
    assert "engineer nw-pia works for partner northwind-it" in result.stderr
    assert "Nothing was started" in result.stderr and not state.exists()


def us_citizen_account_with_expert(expert_line: str) -> str:
    """Cyberdyne (US Citizen Support) with a CSM-Lite expert."""
    text = premium_directory_text().replace(
        "    us_citizen_support: true\n",
        "    us_citizen_support: true\n"
        f"    premium: {{offering: csm_lite, expert: {expert_line}}}\n",
        1,
    )
    return text.replace("  - id: usc-maya\n", "  - id: usc-maya\n    zone: eastern\n", 1)


def test_a_us_citizen_accounts_expert_is_a_member_of_the_restricted_queue(tmp_path: Path) -> None:
    """A3 with U2: a US Citizen Support account's cases go only to the restricted queue, so
    its expert must be a member (usc-maya is); anyone else is refused at the line."""
    path = tmp_path / "ok.yaml"
    path.write_text(us_citizen_account_with_expert("usc-maya"), encoding="utf-8")
    cyberdyne = next(a for a in load_directory(path).accounts if a.id == "cyberdyne")
    assert cyberdyne.premium is not None and cyberdyne.premium.expert == "usc-maya"

    text = us_citizen_account_with_expert(EXPERT)
    message = refusal_of(tmp_path, text)
    assert message.startswith(f"{line_of(text, 'offering: csm_lite')}: ")
    assert "account cyberdyne has US Citizen Support" in message
    assert "sme-olivia has no verified proof of US citizenship (U2)" in message


def test_flagging_an_account_whose_expert_could_not_take_its_cases_is_refused(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A3 with U2: `account us-citizen --on` would send initech's cases to the restricted
    queue, where its expert sme-olivia (no proof of citizenship) may not work them: refused,
    nothing changed."""
    monkeypatch.setenv("CASEWORK_KEYRING", ENGINE_RING.to_json())
    before = store.directory.account("initech")
    flag = ["account", "us-citizen", "initech", "--on", "--zone", "eastern"]
    result = CliRunner().invoke(app, ["--db-url", store.url, *flag])
    assert result.exit_code == 2, result.output
    assert "account initech not changed" in result.stderr
    assert "sme-olivia has no verified proof of US citizenship (U2)" in result.stderr
    assert store.directory.account("initech") == before


def test_accept_names_no_expert_the_credential_does() -> None:
    """The expert who accepts is the one the credential names (issue 10): no --as."""
    result = CliRunner().invoke(app, ["accept", "1", "--as", "sme-olivia"])
    assert result.exit_code == 2 and "No such option: --as" in result.output


def test_the_demo_directory_still_loads_without_premium() -> None:
    assert all(a.premium is None for a in load_directory(DEMO_DIRECTORY).accounts)
