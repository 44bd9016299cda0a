"""US Citizen Support from the terminal (U1-U7): `casework` against the dev server with a real
worker, as a user types it.

The dev server runs on real time and never skips it, so these tests take cases as they come:
outside the account's business hours a restricted case waits in the queue (U4), and what can
be done on a queued case (read, attach, refusals) is tested at any hour. The approval flow
needs an engineer at L3, so it runs in a time zone where the service is open right now (any
IANA zone is a valid account zone), and is skipped in the few weekend hours when none is.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casework.attachments import AttachmentStore
from casework.domain.business_calendar import calendar_for, closed_days
from casework.domain.us_citizen import WITHHELD
from casework.store import Store
from tests.conftest import ENGINE_RING, Desk
from tests.test_cli import OPEN, act_ok, cli, cli_env, listed, opened_case

pytestmark = pytest.mark.timeout(60)
__all__ = ["cli_env"]

SECRET = "Enclave firewall drops the IPsec tunnel to site Bravo-7"
OPEN_CYBERDYNE = [
    *("--profile", "cyberdyne-judy"),
    "open",
    "--channel",
    "web",
    "--account",
    "cyberdyne",
    "--contact",
    "cyberdyne-judy",
    "--product",
    "FortiGate",
    "--version",
    "7.4.3",
    "--priority",
    "P1",
    "--description",
    SECRET,
]


@pytest.fixture
def db_env(monkeypatch: pytest.MonkeyPatch, store: Store) -> Store:
    """Commands that only use the database."""
    monkeypatch.setenv("CASEWORK_DB_URL", store.url)
    monkeypatch.setenv("CASEWORK_KEYRING", ENGINE_RING.to_json())
    return store


# --- accounts (U1, A3) ---------------------------------------------------------------------


async def test_a_gold_account_is_refused_and_nothing_changes(db_env: Store) -> None:
    before = db_env.directory.account("globex")
    result = await cli("account", "us-citizen", "globex", "--on", "--zone", "eastern")
    assert result.exit_code == 2, result.output
    assert "account globex not changed" in result.stderr
    assert "upgrade to Platinum first" in result.stderr
    assert "Traceback" not in result.output
    assert db_env.directory.account("globex") == before
    assert before is not None and not before.us_citizen_support and before.zone is None


async def test_a_platinum_account_is_flagged_with_its_zone(db_env: Store) -> None:
    result = await cli("account", "us-citizen", "acme", "--on", "--zone", "pacific")
    assert result.exit_code == 0, result.output
    assert "acme: US Citizen Support on, business hours in America/Los_Angeles" in result.stdout
    assert "no contact of acme is a log approver" in result.stdout  # U6 would be unanswerable
    account = db_env.directory.account("acme")
    assert account is not None and account.us_citizen_support
    assert account.zone == "America/Los_Angeles"

    shown = await cli("account", "show", "acme", "--output", "json")
    assert json.loads(shown.stdout)["us_citizen_support"] is True

    off = await cli("account", "us-citizen", "acme", "--off")
    assert off.exit_code == 0 and "US Citizen Support off" in off.stdout
    assert not db_env.directory.account("acme").us_citizen_support  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["acme", "--on", "--zone", "mars"], "unknown time zone 'mars'"),
        (["acme", "--on"], "give the account a zone: eastern or pacific (U4)"),
        (["initech", "--on", "--zone", "eastern"], "unknown account 'initech'"),
    ],
)
async def test_a_bad_flag_change_is_refused_and_changes_nothing(
    db_env: Store, args: list[str], says: str
) -> None:
    before = db_env.directory.account("acme")
    result = await cli("account", "us-citizen", *args)
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert db_env.directory.account("acme") == before


async def test_the_engineer_list_says_who_is_in_the_restricted_queue_and_why_not(
    db_env: Store,
) -> None:
    result = await cli("directory", "engineers", "--output", "json")
    assert result.exit_code == 0, result.output
    listed_engineers = {e["id"]: e for e in json.loads(result.stdout)["engineers"]}
    assert {i for i, e in listed_engineers.items() if e["restricted_member"]} == {
        "usc-kara",
        "usc-liam",
        "usc-maya",
        "usc-noah",
    }
    assert (
        "no verified proof of US citizenship (U2)"
        in (listed_engineers["cc-dana"]["not_a_member_because"])
    )
    text = await cli("directory", "engineers")
    assert "member: us passport, verified by hr-lee" in text.stdout
    assert "authorised locations (U7): reston-va, sunnyvale-ca" in text.stdout


# --- reading a restricted case (U5) --------------------------------------------------------


async def test_a_non_member_sees_that_content_exists_and_the_refused_read_is_recorded(
    cli_env: Desk,
) -> None:
    desk = cli_env
    case_id = opened_case(await cli(*OPEN_CYBERDYNE), desk)

    shown = await cli("--profile", "cc-dana", "show", case_id)
    assert shown.exit_code == 0, shown.output
    assert "US Citizen Support — need-to-know" in shown.stdout
    assert "content withheld: cc-dana is neither a member" in shown.stdout
    assert SECRET not in shown.stdout and "cyberdyne-judy" not in shown.stdout
    assert "queue us-citizen" in shown.stdout

    member_view = await desk.view(case_id, viewer="usc-kara")
    refused = [e for e in member_view.feed if e.kind == "read_refused"]
    assert [(e.actor, e.refused) for e in refused] == [("cc-dana", True)]
    assert "no verified proof of US citizenship" in refused[0].text

    other_customer = await cli("show", case_id)  # acme-alice, the profiles' default
    assert other_customer.exit_code == 1
    assert "acme-alice is a contact of acme, not of cyberdyne" in other_customer.stderr
    assert SECRET not in other_customer.output

    member = await cli("--profile", "usc-kara", "show", case_id)
    assert SECRET in member.stdout and "is neither a member" not in member.stdout
    contact = await cli("--profile", "cyberdyne-judy", "show", case_id, "--output", "json")
    assert json.loads(contact.stdout)["description"] == SECRET

    clock = json.loads(contact.stdout)["clock"]
    assert (clock["kind"], clock["zone"]) == ("business_hours", "America/New_York")  # U4
    assert "business hours, Mon-Fri 09:00-17:00 America/New_York" in member.stdout


async def test_list_and_outbox_keep_restricted_content_to_members_and_contacts(
    cli_env: Desk,
) -> None:
    desk = cli_env
    restricted = opened_case(await cli(*OPEN_CYBERDYNE), desk)
    ordinary = opened_case(await cli(*OPEN), desk)

    rows = await listed(desk, restricted, "--restricted", profile="gsc-erin")
    assert ordinary not in {r["case_id"] for r in rows}
    assert next(r for r in rows if r["case_id"] == restricted)["restricted"] is True
    rows = await listed(desk, ordinary, "--not-restricted", "--account", "acme", profile="gsc-erin")
    assert restricted not in {r["case_id"] for r in rows}

    await desk.until(restricted, lambda v: any(e.kind == "routed_to_us_citizen" for e in v.feed))

    async def outbox(viewer: str) -> list[dict[str, object]]:
        result = await cli("--profile", viewer, "outbox", "--case", restricted, "--output", "json")
        assert result.exit_code == 0, result.output
        return list(json.loads(result.stdout))

    assert await outbox("acme-alice") == [], "another account's contact sees none of it"
    for outsider in ("cc-dana", "gsc-erin"):
        told = await outbox(outsider)
        assert told and all(n["withheld"] and n["body"] == "[withheld]" for n in told)
        assert all(n["address"] == "[withheld]" for n in told if n["recipient_kind"] == "contact")
    for insider in ("usc-kara", "cyberdyne-judy", "cyberdyne-ivan"):
        told = await outbox(insider)
        assert any("We have your case" in str(n["body"]) for n in told)
        assert not any(n["withheld"] for n in told)

    plain = await cli("outbox", "--case", ordinary, "--output", "json")
    assert not any(n["withheld"] for n in json.loads(plain.stdout))


# --- files and the approval gate (U5, U6) --------------------------------------------------


async def test_a_file_is_attached_by_reference_and_kept_in_the_store(
    cli_env: Desk, tmp_path: Path
) -> None:
    desk = cli_env
    case_id = opened_case(await cli(*OPEN_CYBERDYNE), desk)
    marker = "ike-debug-marker-7f3a"
    log = tmp_path / "ike-debug.log"
    log.write_text(f"{marker}\n" + "phase1 negotiation timed out\n" * 20_000)

    result = await cli("--profile", "cyberdyne-judy", "attach", case_id, str(log))
    assert result.exit_code == 0, result.output
    assert re.search(r"^att-1: ike-debug\.log \(log, ", result.stdout, re.MULTILINE)

    view = await desk.view(case_id, viewer="usc-kara")
    [attachment] = view.attachments
    store = AttachmentStore(tmp_path / "state" / "attachments", ENGINE_RING)
    assert (attachment.id, attachment.name, attachment.size) == (
        "att-1",
        "ike-debug.log",
        log.stat().st_size,
    )
    assert marker.encode() not in store.path_for(attachment.sha256).read_bytes()  # U5: at rest
    plain = io.BytesIO()
    store.copy_out(attachment.sha256, plain)
    assert plain.getvalue() == log.read_bytes()
    history = await desk.case(case_id).fetch_history()
    assert marker not in history.to_json()  # U5: the bytes never enter workflow history

    shown = await cli("--profile", "cc-dana", "show", case_id)
    assert "att-1" in shown.stdout and "ike-debug.log" not in shown.stdout

    missing = await cli(
        "--profile", "cyberdyne-judy", "attach", case_id, str(tmp_path / "nope.log")
    )
    assert missing.exit_code == 2
    assert "attach not sent: there is no file" in missing.stderr
    stranger = await cli("--profile", "cc-dana", "attach", case_id, str(log))
    assert stranger.exit_code == 1 and "cc-dana is neither" in stranger.stderr
    assert [a.id for a in (await desk.view(case_id, viewer="usc-kara")).attachments] == ["att-1"]


async def test_log_sharing_actions_by_the_wrong_people_are_refused(
    cli_env: Desk, tmp_path: Path
) -> None:
    desk = cli_env
    case_id = opened_case(await cli(*OPEN_CYBERDYNE), desk)
    log = tmp_path / "x.log"
    log.write_text("x")
    await act_ok("--profile", "cyberdyne-judy", "attach", case_id, str(log))

    asked = await cli("--profile", "gsc-erin", "request-log-approval", case_id, "--log", "att-1")
    assert asked.exit_code == 1 and "request_log_approval refused" in asked.stderr
    judy = await cli("--profile", "cyberdyne-judy", "approve-logs", case_id)
    assert judy.exit_code == 1
    assert "authorised to approve sharing logs" in judy.stderr  # U6: not an approver
    nothing = await cli("--profile", "cyberdyne-ivan", "decline-logs", case_id)
    assert nothing.exit_code == 1
    assert "no request to share logs waiting" in nothing.stderr
    bad = await cli("--profile", "usc-noah", "request-log-approval", case_id, "--log", "att 1!")
    assert bad.exit_code == 2 and "--log:" in bad.stderr

    view = await desk.view(case_id, viewer="usc-kara")
    assert view.log_approvals == []
    assert [e.kind for e in view.feed if e.refused] == [
        "request_log_approval",
        "approve_logs",
        "decline_logs",
    ]


def open_zone_now() -> str | None:
    """An IANA zone whose US Citizen Support window is open now, with 20 minutes to spare."""
    now = datetime.now(UTC)
    holidays = closed_days(range(now.year - 1, now.year + 3))
    for hours in range(-12, 15):
        zone = "Etc/GMT" if hours == 0 else f"Etc/GMT{-hours:+d}"  # Etc/GMT-14 is UTC+14
        calendar = calendar_for(zone, holidays)
        if calendar.is_open(now) and calendar.is_open(now + timedelta(minutes=20)):
            return zone
    return None


async def test_the_customer_approves_exactly_the_named_log_for_the_pr(
    cli_env: Desk, store: Store, tmp_path: Path
) -> None:
    """U6 end to end from the terminal: request, a wrong contact refused, approve, PR."""
    zone = open_zone_now()
    if zone is None:
        pytest.skip("no time zone has US Citizen Support business hours right now")
    desk = cli_env
    await act_ok("account", "us-citizen", "cyberdyne", "--on", "--zone", zone)
    case_id = opened_case(await cli(*OPEN_CYBERDYNE), desk)
    for engineer, level in (("usc-kara", "L0"), ("usc-liam", "L1"), ("usc-maya", "L2")):
        await desk.until(
            case_id, lambda v, e=engineer: v.owner is not None and v.owner.engineer_id == e
        )
        await act_ok("--profile", engineer, "escalate", case_id, "--reason", f"beyond {level}")
    await desk.until(case_id, lambda v: v.owner is not None and v.owner.engineer_id == "usc-noah")
    for name in ("ike.log", "dump.log"):
        (tmp_path / name).write_text(f"{name} contents")
        await act_ok("--profile", "cyberdyne-judy", "attach", case_id, str(tmp_path / name))

    asked = await act_ok(
        "--profile", "usc-noah", "request-log-approval", case_id, "--log", "att-1", "--note", "IKE"
    )
    request_id = f"{case_id}-logs-1"
    assert f"asked the customer ({request_id})" in asked
    wrong = await cli("--profile", "cyberdyne-judy", "approve-logs", case_id)
    assert wrong.exit_code == 1
    approved = await act_ok(
        "--profile", "cyberdyne-ivan", "approve-logs", case_id, "--request", request_id
    )
    assert "approved: att-1 (ike.log)" in approved
    filed = await act_ok("--profile", "usc-noah", "file-pr", case_id, "--summary", "IKE rekey bug")
    pr_id = re.search(r"PR-\d+", filed).group()  # type: ignore[union-attr]
    assert f"att-1 (ike.log) shared under {request_id}" in filed
    assert [s["attachment_id"] for s in store.tracker.logs_shared_with(pr_id)] == ["att-1"]

    shown = await cli("--profile", "usc-noah", "show", case_id)
    assert re.search(rf"{request_id}\s.*att-1\s.*approved by cyberdyne-ivan", shown.stdout)
    assert pr_id in shown.stdout
    outsider = await cli("--profile", "gec-hugo", "show", case_id, "--output", "json")
    view = json.loads(outsider.stdout)
    names = {a["id"]: a["name"] for a in view["attachments"]}
    assert names == {"att-1": "ike.log", "att-2": WITHHELD}  # only what the customer approved
