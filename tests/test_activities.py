"""Activities against the real store (a fresh SQLite database per test), in an activity context
(`ActivityEnvironment`), the way a worker runs them, retries included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import DirectoryActivities, NotificationActivities, TrackerActivities
from casework.contracts import (
    ManagerAlert,
    Notification,
    ProblemReportRequest,
    ReleaseRequest,
    RouteRequest,
)
from casework.domain.directory import Directory
from casework.domain.models import Category, Level, OpenCaseRequest, Priority, Tier
from casework.domain.sla import DEFAULT_POLICY
from casework.domain.tiers import GOLD, PLATINUM
from casework.store import Store
from tests.conftest import activity_env_at, case_request, policy_in_seconds

AT = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)  # a Tuesday


@pytest.fixture
def activity_env() -> ActivityEnvironment:
    return activity_env_at(datetime.now(UTC))


@pytest.fixture
def directory_activities(store: Store) -> DirectoryActivities:
    return DirectoryActivities(store, DEFAULT_POLICY)


def open_request(**overrides: Any) -> OpenCaseRequest:
    return case_request(**{"request_id": "req-1", **overrides})


def route(
    activity_env: ActivityEnvironment,
    activities: DirectoryActivities,
    case_id: str = "case-000001",
    *,
    level: Level = Level.L1,
    product: str = "FortiGate",
    category: Category = Category.SUPPORT,
    attempt: int = 1,
    at: datetime = AT,
) -> Any:
    return activity_env.run(
        activities.route_case,
        RouteRequest(
            case_id=case_id,
            level=level,
            product=product,
            category=category,
            at=at,
            attempt=attempt,
        ),
    )


# --- intake ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "kind", "words"),
    [
        ({"account_id": "initech"}, "UnknownAccount", "unknown account 'initech'"),
        (
            {"contact_id": "globex-carol"},
            "UnknownContact",
            "'globex-carol' is not a contact of account acme (Acme Manufacturing); "
            "its contacts are: acme-alice, acme-bob",
        ),
        (
            {"product": "FortiPhone"},
            "UnknownProduct",
            "unknown product 'FortiPhone'; supported products: "
            "FortiGate, FortiAnalyzer, FortiManager",
        ),
    ],
)
def test_intake_refuses_what_the_directory_does_not_know(
    activity_env: ActivityEnvironment,
    directory_activities: DirectoryActivities,
    store: Store,
    overrides: dict[str, str],
    kind: str,
    words: str,
) -> None:
    """A1/A5: a case is for a known account, opened by one of its contacts, about a supported
    product; otherwise it is refused for good (no retry) and no case number is used."""
    with pytest.raises(ApplicationError) as refused:
        activity_env.run(directory_activities.intake, open_request(**overrides))
    assert refused.value.type == kind
    assert refused.value.non_retryable
    assert words in str(refused.value)
    first = activity_env.run(directory_activities.intake, open_request(request_id="req-after"))
    second = activity_env.run(directory_activities.intake, open_request(request_id="req-next"))
    assert int(second.case_id.removeprefix("case-")) == int(first.case_id.removeprefix("case-")) + 1


def test_intake_is_idempotent_per_request_id(
    activity_env: ActivityEnvironment, directory_activities: DirectoryActivities
) -> None:
    """A retried open (same request id) gets the same case; a new request the next number."""
    first = activity_env.run(directory_activities.intake, open_request(request_id="req-a"))
    retried = activity_env.run(directory_activities.intake, open_request(request_id="req-a"))
    new = activity_env.run(directory_activities.intake, open_request(request_id="req-b"))
    assert retried.case_id == first.case_id
    number = int(first.case_id.removeprefix("case-"))
    assert new.case_id == f"case-{number + 1:06d}"


@pytest.mark.parametrize(
    ("account", "contact", "tier", "p1"),
    [
        ("acme", "acme-bob", PLATINUM, timedelta(minutes=15)),
        ("globex", "globex-carol", GOLD, timedelta(minutes=30)),
    ],
)
def test_intake_resolves_tier_and_targets_from_the_policy(
    activity_env: ActivityEnvironment,
    directory_activities: DirectoryActivities,
    account: str,
    contact: str,
    tier: Tier,
    p1: timedelta,
) -> None:
    """A1/S1: the account's tier decides the first-response targets."""
    intake = activity_env.run(
        directory_activities.intake,
        open_request(account_id=account, contact_id=contact, product="fortigate"),
    )
    assert intake.entitlement.tier == tier
    assert intake.entitlement.targets == DEFAULT_POLICY.targets_for(tier)
    assert intake.entitlement.targets[Priority.P1] == p1
    assert intake.entitlement.routing_retry == timedelta(minutes=5)
    assert intake.request.product == "FortiGate", "the product is named as the directory does"
    assert contact in intake.account_contacts


def test_intake_uses_the_loaded_policy(activity_env: ActivityEnvironment, store: Store) -> None:
    """S5: a deployment's own table (seconds here) is what cases get."""
    activities = DirectoryActivities(store, policy_in_seconds())
    intake = activity_env.run(activities.intake, open_request())
    assert intake.entitlement.targets[Priority.P1] == timedelta(seconds=15)
    assert intake.entitlement.routing_retry == timedelta(seconds=5)


# --- routing --------------------------------------------------------------------------------


def test_route_case_picks_by_level_and_skill(
    activity_env: ActivityEnvironment, directory_activities: DirectoryActivities
) -> None:
    """E1: an L1 FortiAnalyzer case goes to Farid, an L1 FortiGate case to Erin, an L0 case to
    Customer Care, a security vulnerability at L2 to Grace (A5)."""
    cases = {
        "case-1": (Level.L1, "FortiAnalyzer", Category.SUPPORT, "gsc-farid", "gsc"),
        "case-2": (Level.L1, "FortiGate", Category.SUPPORT, "gsc-erin", "gsc"),
        "case-3": (Level.L0, "FortiManager", Category.SUPPORT, "cc-dana", "customer-care"),
        "case-4": (Level.L2, "FortiGate", Category.SECURITY_VULNERABILITY, "gsc-grace", "gsc"),
        "case-5": (Level.L3, "FortiManager", Category.SUPPORT, "gec-hugo", "gec"),
    }
    for case_id, (level, product, category, engineer, queue) in cases.items():
        result = route(
            activity_env,
            directory_activities,
            case_id,
            level=level,
            product=product,
            category=category,
        )
        assert result.assignment is not None, case_id
        assert result.assignment.engineer_id == engineer
        assert result.assignment.level is level
        assert result.queue == queue


def two_l1_engineers(store: Store) -> None:
    store.directory.replace(
        Directory.model_validate(
            {
                "products": ["FortiGate"],
                "accounts": [
                    {
                        "id": "acme",
                        "name": "Acme",
                        "tier": "PLATINUM",
                        "users": 1200,
                        "contacts": [{"id": "acme-alice", "name": "Alice"}],
                    }
                ],
                "engineers": [
                    {"id": "l1-ana", "name": "Ana", "level": "L1", "skills": ["FortiGate"]},
                    {"id": "l1-bo", "name": "Bo", "level": "L1", "skills": ["FortiGate"]},
                ],
                "escalation_managers": [{"id": "em-a", "name": "A"}],
            }
        )
    )


def test_route_case_spreads_cases_by_load(
    activity_env: ActivityEnvironment, directory_activities: DirectoryActivities, store: Store
) -> None:
    """E1: the engineer with the fewest open cases gets the next one."""
    two_l1_engineers(store)
    chosen = [
        route(activity_env, directory_activities, f"case-{n}").assignment.engineer_id
        for n in range(4)
    ]
    assert chosen == ["l1-ana", "l1-bo", "l1-ana", "l1-bo"]
    assert store.tracker.open_case_counts() == {"l1-ana": 2, "l1-bo": 2}


def test_a_retried_route_gets_the_same_engineer_and_counts_once(
    activity_env: ActivityEnvironment, directory_activities: DirectoryActivities, store: Store
) -> None:
    """E1: routing is idempotent per (case, level, attempt): a retry after the load changed
    returns the engineer first chosen and does not add a second assignment."""
    two_l1_engineers(store)
    first = route(activity_env, directory_activities, "case-1")
    assert first.assignment.engineer_id == "l1-ana"
    # Ana now has the fewest cases no longer; a fresh choice would be Bo.
    retried = route(activity_env, directory_activities, "case-1")
    assert retried.assignment == first.assignment
    assert store.tracker.open_case_counts() == {"l1-ana": 1}


def test_an_escalated_case_moves_to_the_next_engineer_and_off_the_first(
    activity_env: ActivityEnvironment, directory_activities: DirectoryActivities, store: Store
) -> None:
    """E2: escalation releases the case from its L1 engineer; the L2 engineer now carries it."""
    route(activity_env, directory_activities, "case-1", level=Level.L1)
    assert store.tracker.open_case_counts() == {"gsc-erin": 1}
    result = route(activity_env, directory_activities, "case-1", level=Level.L2, attempt=2)
    assert result.assignment.engineer_id == "gsc-grace"
    assert store.tracker.open_case_counts() == {"gsc-grace": 1}


def test_nobody_matching_gives_no_assignment_and_the_reason(
    activity_env: ActivityEnvironment, directory_activities: DirectoryActivities, store: Store
) -> None:
    """E1/A5: no L1 engineer has the security skill in the demo directory: the case waits in
    the gsc queue and the reason says what is missing."""
    result = route(activity_env, directory_activities, category=Category.SECURITY_VULNERABILITY)
    assert result.assignment is None
    assert result.queue == "gsc"
    assert result.reason == "no L1 engineer with skills FortiGate, security is on shift"
    assert store.tracker.open_case_counts() == {}


def test_release_case_frees_the_engineers_load(
    activity_env: ActivityEnvironment, directory_activities: DirectoryActivities, store: Store
) -> None:
    """E4: a closed case no longer counts against its engineer; the next case goes to them."""
    two_l1_engineers(store)
    route(activity_env, directory_activities, "case-1")  # ana
    route(activity_env, directory_activities, "case-2")  # bo
    released = activity_env.run(
        directory_activities.release_case, ReleaseRequest(case_id="case-1", at=AT)
    )
    assert released == 1
    assert store.tracker.open_case_counts() == {"l1-bo": 1}
    again = activity_env.run(
        directory_activities.release_case, ReleaseRequest(case_id="case-1", at=AT)
    )
    assert again == 0
    assert route(activity_env, directory_activities, "case-3").assignment.engineer_id == "l1-ana"


# --- notifications --------------------------------------------------------------------------


def note(key: str, kind: str, person: str) -> Notification:
    return Notification(
        key=key,
        case_id="case-000001",
        recipient_kind=kind,
        recipient_id=person,
        subject="case-000001 opened",
        body="We have your case.",
        at=AT,
    )


def test_notify_queues_once_per_key_with_the_persons_address(
    activity_env: ActivityEnvironment, store: Store
) -> None:
    """E4: the customer and the engineer hear about their case once, however often the
    activity is retried."""
    notifications = NotificationActivities(store)
    first = activity_env.run(notifications.notify, note("k1", "contact", "acme-alice"))
    retried = activity_env.run(notifications.notify, note("k1", "contact", "acme-alice"))
    engineer = activity_env.run(notifications.notify, note("k2", "engineer", "gsc-erin"))
    assert (first.queued, first.address) == (True, "alice@acme.example")
    assert (retried.queued, retried.address) == (False, "alice@acme.example")
    assert (engineer.queued, engineer.address) == (True, "erin@vendor.example")
    outbox = store.outbox.rows("case-000001")
    assert [(n["recipient_id"], n["address"]) for n in outbox] == [
        ("acme-alice", "alice@acme.example"),
        ("gsc-erin", "erin@vendor.example"),
    ]


def test_a_contact_without_email_is_reached_by_phone(
    activity_env: ActivityEnvironment, store: Store
) -> None:
    store.directory.replace(
        Directory.model_validate(
            {
                "products": ["FortiGate"],
                "accounts": [
                    {
                        "id": "acme",
                        "name": "Acme",
                        "tier": "GOLD",
                        "users": 10,
                        "contacts": [{"id": "acme-zed", "name": "Zed", "phone": "+1 555 0100"}],
                    }
                ],
                "escalation_managers": [{"id": "em-a", "name": "A"}],
            }
        )
    )
    result = activity_env.run(
        NotificationActivities(store).notify, note("k", "contact", "acme-zed")
    )
    assert result.address == "+1 555 0100"


def alert(key: str, at: datetime) -> ManagerAlert:
    return ManagerAlert(
        key=key, case_id="case-000001", subject="SLA breach on case-000001", body="missed", at=at
    )


def test_the_escalation_manager_on_duty_is_alerted_once(
    activity_env: ActivityEnvironment, store: Store
) -> None:
    """S3: a breach at 15:00 UTC alerts Jon (12:00-24:00 UTC), once per key; a breach at 03:00
    alerts Ines (00:00-12:00 UTC)."""
    notifications = NotificationActivities(store)
    afternoon = activity_env.run(notifications.alert_escalation_manager, alert("b1", AT))
    retried = activity_env.run(notifications.alert_escalation_manager, alert("b1", AT))
    night = activity_env.run(
        notifications.alert_escalation_manager,
        alert("b2", datetime(2025, 3, 5, 3, 0, tzinfo=UTC)),
    )
    assert (afternoon.manager_id, afternoon.manager_name, afternoon.queued) == (
        "em-jon",
        "Jon Svensson",
        True,
    )
    assert (retried.manager_id, retried.queued) == ("em-jon", False)
    assert (night.manager_id, night.queued) == ("em-ines", True)
    outbox = store.outbox.rows("case-000001")
    assert [(n["recipient_kind"], n["recipient_id"], n["address"]) for n in outbox] == [
        ("escalation_manager", "em-jon", "jon@vendor.example"),
        ("escalation_manager", "em-ines", "ines@vendor.example"),
    ]


# --- the engineering tracker ----------------------------------------------------------------


def test_a_retried_problem_report_is_filed_once(
    activity_env: ActivityEnvironment, store: Store
) -> None:
    """E2: one PR per key however often the activity is retried; a new key files a new PR."""
    tracker = TrackerActivities(store)

    def file(key: str, case_id: str) -> str:
        return activity_env.run(
            tracker.file_problem_report,
            ProblemReportRequest(
                key=key, case_id=case_id, summary="crash in ipsd", filed_by="gec-hugo", at=AT
            ),
        ).pr_id

    first = file("case-1:pr", "case-1")
    assert file("case-1:pr", "case-1") == first
    other = file("case-2:pr", "case-2")
    assert other != first
    assert other == f"PR-{int(first.removeprefix('PR-')) + 1:06d}"
    assert [r["id"] for r in store.tracker.problem_reports()] == [first, other]
    assert store.tracker.problem_reports("case-1")[0]["filed_by"] == "gec-hugo"
