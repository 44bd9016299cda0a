"""The customer's approval before logs reach product engineering (U6), from the outside: a
restricted case worked up to L3 through updates, the answers of the account's contacts, the
durable gate's reminder and expiry in business days, and what the engineering tracker (the
store's shared logs) finally holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from casework.domain.models import CaseView
from casework.store import LogSharingRefused, Store
from tests.conftest import OTHER_STORED_SHA, STORED_SHA, Desk, eventually
from tests.us_citizen_desk import (
    APPROVER,
    eastern_calendar,
    escalate_to,
    kinds,
    notifications_to,
    open_restricted,
    skip_to,
    skip_to_business_hours,
    until,
)

OWNER = "usc-noah"
CONTACT = "cyberdyne-judy"


async def refused(desk: Desk, case_id: str, action: str, **payload: Any) -> str:
    """The refusal's message; the refusal must also be the feed's last entry."""
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await desk.act(case_id, action, **payload)
    view = await until(desk, case_id, lambda v: True)
    last = view.feed[-1]
    assert last.refused and last.kind == action and last.actor == payload["actor"]
    return str(failure.value.cause)


async def at_l3_with_files(env: WorkflowEnvironment, desk: Desk) -> str:
    """A restricted case answered at L0, escalated to L3 (usc-noah), with two logs and a
    configuration attached by reference: att-1 and att-3 by the customer, att-2 by the owner."""
    await skip_to_business_hours(env)
    case_id = await open_restricted(desk)
    await until(desk, case_id, lambda v: v.state == "in_progress")
    await desk.act(case_id, "respond", actor="usc-kara", text="Collecting data")
    await escalate_to(desk, case_id, "L3")
    attached = await desk.act(
        case_id, "attach", actor=CONTACT, name="ike-debug.log", sha256=STORED_SHA, size=4096
    )
    assert attached.message == "attached as att-1"
    await desk.act(
        case_id, "attach", actor=OWNER, name="crashlog.log", sha256=OTHER_STORED_SHA, size=10
    )
    await desk.act(
        case_id,
        "attach",
        actor=CONTACT,
        name="running.conf",
        kind="configuration",
        sha256=STORED_SHA,
        size=99,
    )
    return case_id


async def request_approval(desk: Desk, case_id: str, logs: list[str]) -> CaseView:
    result = await desk.act(
        case_id, "request_log_approval", actor=OWNER, logs=logs, note="IKE negotiation only"
    )
    assert result.message.startswith(f"asked the customer ({case_id}-logs-1); it expires ")
    return await until(desk, case_id, lambda v: len(v.log_approvals) == 1)


# --- approve ----------------------------------------------------------------------------------


async def test_only_an_authorised_contact_approves_and_exactly_the_approved_logs_reach_the_pr(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """U6: the owner asks for att-1; the account's approver is asked (not the other contact);
    an answer by that other contact, by the owner or by another engineer is refused and on the
    feed; cyberdyne-ivan approves; the PR then carries att-1 and nothing else (not att-2,
    attached but not approved), and the share is on the feed."""
    case_id = await at_l3_with_files(env, desk)
    view = await request_approval(desk, case_id, ["att-1"])
    request = view.log_approvals[0]
    assert (request.status, request.logs, request.requested_by) == ("pending", ["att-1"], OWNER)
    asked = await eventually(lambda: notifications_to(store, case_id, APPROVER))
    assert "may we share logs with engineering?" in asked[-1]["subject"]
    assert "ike-debug.log" in asked[-1]["body"]
    assert not [n for n in notifications_to(store, case_id, CONTACT) if "share" in n["subject"]]

    not_authorised = await refused(desk, case_id, "approve_logs", actor=CONTACT)
    assert "only a contact the account authorised to approve sharing logs" in not_authorised
    assert "cyberdyne-judy is not one" in not_authorised
    for engineer in (OWNER, "cc-dana"):
        message = await refused(desk, case_id, "approve_logs", actor=engineer)
        assert f"{engineer} is not one" in message
    assert "no approval" not in await refused(desk, case_id, "decline_logs", actor=CONTACT)
    wrong_id = await refused(desk, case_id, "approve_logs", actor=APPROVER, request_id="nope-1")
    assert f"the request waiting for an answer is {case_id}-logs-1" in wrong_id
    still = await until(desk, case_id, lambda v: True)
    assert still.log_approvals[0].status == "pending"

    approved = await desk.act(case_id, "approve_logs", actor=APPROVER)
    assert "att-1 (ike-debug.log)" in approved.message
    filed = await desk.act(case_id, "file_problem_report", actor=OWNER, summary="IKE rekey bug")
    after = await until(desk, case_id, lambda v: v.problem_report is not None)
    pr = after.problem_report
    assert pr is not None and filed.message.startswith(f"filed {pr}; att-1 (ike-debug.log) shared")

    shared = store.tracker.logs_shared_with(pr)
    assert [(s["attachment_id"], s["name"], s["sha256"]) for s in shared] == [
        ("att-1", "ike-debug.log", STORED_SHA)
    ]
    assert shared[0]["approval_request_id"] == f"{case_id}-logs-1"
    answered = after.log_approvals[0]
    assert (answered.status, answered.decided_by, answered.pr_id) == ("approved", APPROVER, pr)
    on_record = [e.kind for e in after.feed if not e.refused]
    assert on_record[-4:] == [
        "request_log_approval",
        "approve_logs",
        "file_problem_report",
        "logs_shared",
    ]
    assert "att-1 (ike-debug.log) attached to" in after.feed[-1].text

    # U6: the approval covers this PR only, and only the named logs
    log = {"id": "att-1", "name": "ike-debug.log", "sha256": STORED_SHA}
    with pytest.raises(LogSharingRefused, match=f"covers {pr} only"):
        store.tracker.share_logs(
            f"{case_id}-logs-1", case_id, "PR-999999", [log], datetime.now(UTC)
        )
    unnamed = {"id": "att-2", "name": "crashlog.log", "sha256": OTHER_STORED_SHA}
    with pytest.raises(LogSharingRefused, match="att-2 not named in approval"):
        store.tracker.share_logs(f"{case_id}-logs-1", case_id, pr, [unnamed], datetime.now(UTC))
    assert store.tracker.logs_shared_with("PR-999999") == []
    assert len(store.tracker.logs_shared_with(pr)) == 1

    # ... and no second request: the case's one escalation to engineering has happened
    again = await refused(desk, case_id, "request_log_approval", actor=OWNER, logs=["att-2"])
    assert f"already linked to {pr}" in again


# --- decline ----------------------------------------------------------------------------------


async def test_a_declined_request_lets_the_case_go_on_with_a_pr_without_logs(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """U6: declining is allowed; the PR carries no logs, the feed says why, and the customer
    is told that resolution may be significantly delayed."""
    case_id = await at_l3_with_files(env, desk)
    await request_approval(desk, case_id, ["att-1", "att-2"])
    declined = await desk.act(
        case_id, "decline_logs", actor=APPROVER, reason="classified network data"
    )
    assert "resolution may take longer" in declined.message

    filed = await desk.act(case_id, "file_problem_report", actor=OWNER, summary="IKE rekey bug")
    view = await until(desk, case_id, lambda v: v.problem_report is not None)
    pr = view.problem_report
    assert pr is not None and filed.message.startswith(f"filed {pr} without logs")
    assert store.tracker.logs_shared_with(pr) == []
    assert view.log_approvals[0].status == "declined"
    assert view.log_approvals[0].pr_id is None
    decline = next(e for e in view.feed if e.kind == "decline_logs")
    assert decline.actor == APPROVER and "classified network data" in decline.text
    without = view.feed[-1]
    assert without.kind == "pr_without_logs"
    assert without.text == f"{pr} carries no logs: the customer declined"
    assert "logs_shared" not in kinds(view)

    told = await eventually(
        lambda: [
            n
            for n in notifications_to(store, case_id, CONTACT)
            if "continuing without logs" in n["subject"]
        ]
    )
    assert "significantly longer" in told[0]["body"]
    assert "you declined to share logs" in told[0]["body"].lower()

    # the sharing code itself refuses a declined request, whatever asks it
    log = {"id": "att-1", "name": "ike-debug.log", "sha256": STORED_SHA}
    with pytest.raises(LogSharingRefused, match="nothing shared"):
        store.tracker.share_logs(f"{case_id}-logs-1", case_id, pr, [log], datetime.now(UTC))
    assert store.tracker.logs_shared_with(pr) == []


# --- no answer --------------------------------------------------------------------------------


async def test_an_unanswered_request_is_reminded_after_one_business_day_and_expires_after_five(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """U6: the request is a durable gate counted in business days (U4): the approver is
    reminded one business day after the request and it expires five business days after it,
    not a second earlier; the customer is told the case goes on without logs, an answer after
    that is refused, and the PR carries no logs."""
    case_id = await at_l3_with_files(env, desk)
    view = await request_approval(desk, case_id, ["att-1"])
    request = view.log_approvals[0]
    calendar = eastern_calendar(request.requested_at)
    assert request.reminder_at == calendar.add(request.requested_at, timedelta(hours=8))
    assert request.expires_at == calendar.add(request.requested_at, timedelta(hours=40))
    assert request.reminder_at - request.requested_at >= timedelta(days=1)
    assert request.expires_at - request.requested_at >= timedelta(days=7), "a weekend between"

    await skip_to(env, request.reminder_at - timedelta(seconds=1))
    assert "approval_reminder" not in kinds(await until(desk, case_id, lambda v: True))
    await env.sleep(timedelta(seconds=2))
    reminded = await until(desk, case_id, lambda v: "approval_reminder" in kinds(v))
    reminder = next(e for e in reminded.feed if e.kind == "approval_reminder")
    assert request.reminder_at <= reminder.at < request.reminder_at + timedelta(seconds=2)
    assert reminded.log_approvals[0].reminded
    nudges = await eventually(
        lambda: [
            n
            for n in notifications_to(store, case_id, APPROVER)
            if n["subject"].startswith("Reminder")
        ]
    )
    assert len(nudges) == 1 and "Please approve or decline" in nudges[0]["body"]

    await skip_to(env, request.expires_at - timedelta(seconds=1))
    assert (await until(desk, case_id, lambda v: True)).log_approvals[0].status == "pending"
    await env.sleep(timedelta(seconds=2))
    expired = await until(desk, case_id, lambda v: "approval_expired" in kinds(v))
    assert expired.log_approvals[0].status == "expired"
    told = await eventually(
        lambda: [
            n
            for n in notifications_to(store, case_id, CONTACT)
            if "continuing without logs" in n["subject"]
        ]
    )
    assert "expired unanswered" in told[0]["body"] and "significantly" in told[0]["body"]

    late = await refused(desk, case_id, "approve_logs", actor=APPROVER)
    assert "there is no request to share logs waiting for an answer" in late

    await desk.act(case_id, "file_problem_report", actor=OWNER, summary="IKE rekey bug")
    view = await until(desk, case_id, lambda v: v.problem_report is not None)
    pr = view.problem_report
    assert pr is not None and store.tracker.logs_shared_with(pr) == []
    assert view.feed[-1].text == f"{pr} carries no logs: the request to share logs expired"
    assert [e.kind for e in view.feed if e.kind.startswith("approval_")] == [
        "approval_reminder",
        "approval_expired",
    ]


# --- refused requests ---------------------------------------------------------------------------


async def test_no_pr_is_filed_while_the_customer_has_not_answered(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """U6: the request is a gate: filing the PR meanwhile is refused, nothing is filed."""
    case_id = await at_l3_with_files(env, desk)
    await request_approval(desk, case_id, ["att-1"])
    message = await refused(desk, case_id, "file_problem_report", actor=OWNER, summary="bug")
    assert "the customer has not yet answered the request to share logs" in message
    assert store.tracker.problem_reports(case_id) == []
    second = await refused(desk, case_id, "request_log_approval", actor=OWNER, logs=["att-2"])
    assert "has not yet answered" in second


async def test_a_request_must_name_logs_of_this_case(env: WorkflowEnvironment, desk: Desk) -> None:
    """U6: a request naming a configuration file or an unknown attachment is refused with the
    case's logs listed; one by someone other than the owner, or below L3, too. A file reference
    that is not a SHA-256 is rejected before it reaches the case."""
    case_id = await at_l3_with_files(env, desk)
    config = await refused(desk, case_id, "request_log_approval", actor=OWNER, logs=["att-3"])
    assert "att-3: not a log on this case; its logs are att-1, att-2" in config
    unknown = await refused(
        desk, case_id, "request_log_approval", actor=OWNER, logs=["att-1", "att-9"]
    )
    assert "att-9: not a log on this case" in unknown
    not_owner = await refused(
        desk, case_id, "request_log_approval", actor="usc-kara", logs=["att-1"]
    )
    assert "usc-kara is not the owner" in not_owner
    view = await until(desk, case_id, lambda v: True)
    assert view.log_approvals == []

    with pytest.raises(WorkflowUpdateFailedError) as bad_sha:  # malformed: rejected at the door
        await desk.act(case_id, "attach", actor=CONTACT, name="x.log", sha256="abc")
    assert "sha256" in str(bad_sha.value.cause)
    assert (await until(desk, case_id, lambda v: True)).feed == view.feed


async def test_a_request_below_l3_is_refused(env: WorkflowEnvironment, desk: Desk) -> None:
    """E2/U6: logs go to product engineering with a PR, which is filed at L3 only."""
    await skip_to_business_hours(env)
    case_id = await open_restricted(desk)
    await until(desk, case_id, lambda v: v.state == "in_progress")
    await desk.act(case_id, "attach", actor=CONTACT, name="a.log", sha256=STORED_SHA, size=1)
    message = await refused(desk, case_id, "request_log_approval", actor="usc-kara", logs=["att-1"])
    assert "escalate it first" in message


async def test_a_request_on_a_case_without_us_citizen_support_is_refused(
    env: WorkflowEnvironment, desk: Desk
) -> None:
    """U6/U1: the approval gate belongs to the add-on; an acme case's owner cannot open one."""
    case_id = await desk.open()  # acme, 24x7
    view = await desk.until(case_id, lambda v: v.state == "in_progress")
    assert view.owner is not None and view.owner.engineer_id == "cc-dana"
    message = await refused(desk, case_id, "request_log_approval", actor="cc-dana", logs=["att-1"])
    assert "log-sharing approval is part of US Citizen Support" in message


# --- the sharing code on its own ------------------------------------------------------------------


LOG = {"id": "att-1", "name": "ike-debug.log", "sha256": STORED_SHA}
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def test_without_an_approval_record_nothing_is_shared(store: Store) -> None:
    """U6: the code that attaches logs to a PR checks the recorded approval first."""
    with pytest.raises(LogSharingRefused, match="no approval case-1-logs-1 .* is on record"):
        store.tracker.share_logs("case-1-logs-1", "case-1", "PR-000001", [LOG], NOW)
    assert store.tracker.logs_shared_with("PR-000001") == []


@pytest.mark.parametrize("status", ["pending", "declined", "expired"])
def test_an_unapproved_record_shares_nothing(store: Store, status: str) -> None:
    store.tracker.record_log_approval("case-1-logs-1", "case-1", ["att-1"], status, None, None)
    with pytest.raises(LogSharingRefused, match="nothing shared"):
        store.tracker.share_logs("case-1-logs-1", "case-1", "PR-000001", [LOG], NOW)
    assert store.tracker.logs_shared_with("PR-000001") == []


def test_an_approval_covers_its_case_its_logs_and_one_pr(store: Store) -> None:
    """U6: shared once for its PR (a retry shares nothing twice); refused for another case,
    another PR or a log it does not name."""
    store.tracker.record_log_approval("case-1-logs-1", "case-1", ["att-1"], "approved", "ivan", NOW)
    with pytest.raises(LogSharingRefused, match="for another case"):
        store.tracker.share_logs("case-1-logs-1", "case-2", "PR-000001", [LOG], NOW)
    assert store.tracker.share_logs("case-1-logs-1", "case-1", "PR-000001", [LOG], NOW) == ["att-1"]
    assert store.tracker.share_logs("case-1-logs-1", "case-1", "PR-000001", [LOG], NOW) == ["att-1"]
    assert len(store.tracker.logs_shared_with("PR-000001")) == 1
    with pytest.raises(LogSharingRefused, match="covers PR-000001 only"):
        store.tracker.share_logs("case-1-logs-1", "case-1", "PR-000002", [LOG], NOW)
    other = {"id": "att-2", "name": "other.log", "sha256": OTHER_STORED_SHA}
    with pytest.raises(LogSharingRefused, match="att-2 not named"):
        store.tracker.share_logs("case-1-logs-1", "case-1", "PR-000001", [other], NOW)
    assert store.tracker.logs_shared_with("PR-000002") == []
    assert [s["attachment_id"] for s in store.tracker.logs_shared_with("PR-000001")] == ["att-1"]


@pytest.mark.parametrize("decided", ["approved", "declined", "expired"])
def test_a_retried_pending_write_never_undoes_the_customers_answer(
    store: Store, decided: str
) -> None:
    """U6: the request is recorded "pending", then answered; a retry of the pending write
    that lands after the answer (activity writes run concurrently) changes nothing, so an
    approval stays usable and a refusal stays a refusal. A decided record is final."""
    request = ("case-1-logs-1", "case-1", ["att-1"])
    store.tracker.record_log_approval(*request, "pending", None, None)
    store.tracker.record_log_approval(*request, decided, "ivan", NOW)
    store.tracker.record_log_approval(*request, "pending", None, None)  # the retry, late
    other = "declined" if decided == "approved" else "approved"
    store.tracker.record_log_approval(*request, other, "judy", NOW)  # a second answer, too late
    if decided == "approved":
        assert store.tracker.share_logs(*request[:2], "PR-000001", [LOG], NOW) == ["att-1"]
    else:
        with pytest.raises(LogSharingRefused, match="nothing shared"):
            store.tracker.share_logs(*request[:2], "PR-000001", [LOG], NOW)
