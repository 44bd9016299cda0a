"""The case lifecycle as a support manager knows it: who may do what, in which state.

Pure: `CaseLifecycle` bound to a `CaseState` built here, no Temporal.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from statemachine.exceptions import TransitionNotAllowed

from casework.domain.lifecycle import GUARD_REFUSALS, OPEN_STATES, Actor, CaseLifecycle
from casework.domain.models import (
    ActorRole,
    CaseState,
    Channel,
    Entitlement,
    IntakeResult,
    Level,
    OpenCaseRequest,
    Priority,
)
from casework.domain.partner import ACTIONS_ON_ITS_ESCALATION
from casework.domain.sla import AroundTheClock, start_clock
from casework.domain.tiers import PLATINUM

OPENED = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)

ROUTING = Actor("routing", ActorRole.SYSTEM)
OWNER = Actor("gsc-erin", ActorRole.ENGINEER, is_owner=True)
OTHER_ENGINEER = Actor("gsc-farid", ActorRole.ENGINEER, is_owner=False)
CONTACT = Actor("acme-alice", ActorRole.CONTACT)
STRANGER = Actor("mallory", ActorRole.UNKNOWN)


def a_case(
    state: str = "queued",
    *,
    level: Level = Level.L1,
    priority: Priority = Priority.P2,
    problem_report: str | None = None,
) -> CaseState:
    request = OpenCaseRequest(
        request_id="req-1",
        channel=Channel.WEB,
        account_id="acme",
        contact_id="acme-alice",
        product="FortiGate",
        version="7.4.3",
        priority=priority,
        description="HA cluster fails over every few minutes",
    )
    targets = {
        Priority.P1: timedelta(minutes=15),
        Priority.P2: timedelta(hours=1),
        Priority.P3: timedelta(hours=4),
    }
    intake = IntakeResult(
        case_id="case-000001",
        request=request,
        account_name="Acme Manufacturing",
        contact_name="Alice Moreau",
        account_contacts=["acme-alice", "acme-bob"],
        entitlement=Entitlement(tier=PLATINUM, targets=targets),
    )
    return CaseState(
        case_id="case-000001",
        intake=intake,
        state=state,
        priority=priority,
        level=level,
        opened_at=OPENED,
        sla=start_clock(OPENED, targets[priority], AroundTheClock()),
        problem_report=problem_report,
    )


def machine(state: str = "queued", **case: object) -> tuple[CaseLifecycle, CaseState]:
    model = a_case(state, **case)  # type: ignore[arg-type]
    return CaseLifecycle(model), model


# --- every allowed transition --------------------------------------------------------------

ALLOWED = [
    # (from, event, actor, kwargs, to)
    ("queued", "assign", ROUTING, {}, "in_progress"),  # E1
    ("in_progress", "escalate", OWNER, {}, "queued"),  # E2
    ("in_progress", "respond", OWNER, {}, "in_progress"),  # S2
    ("waiting_on_customer", "respond", OWNER, {}, "waiting_on_customer"),
    ("in_progress", "request_info", OWNER, {}, "waiting_on_customer"),  # E5
    ("waiting_on_customer", "provide_info", CONTACT, {}, "in_progress"),  # E5
    ("queued", "comment", CONTACT, {}, "queued"),  # E4 Case Comments
    ("in_progress", "comment", OWNER, {}, "in_progress"),
    ("waiting_on_customer", "comment", CONTACT, {}, "waiting_on_customer"),
    ("resolved", "comment", OWNER, {}, "resolved"),
    ("queued", "change_priority", CONTACT, {"priority": Priority.P1}, "queued"),  # E4/S4
    ("in_progress", "change_priority", OWNER, {"priority": Priority.P3}, "in_progress"),
    (
        "waiting_on_customer",
        "change_priority",
        CONTACT,
        {"priority": Priority.P1},
        "waiting_on_customer",
    ),
    ("in_progress", "resolve", OWNER, {}, "resolved"),
    ("waiting_on_customer", "resolve", OWNER, {}, "resolved"),
    ("resolved", "reopen", CONTACT, {}, "in_progress"),
    ("queued", "close", CONTACT, {}, "closed"),  # E4
    ("in_progress", "close", CONTACT, {}, "closed"),
    ("waiting_on_customer", "close", CONTACT, {}, "closed"),
    ("resolved", "close", CONTACT, {}, "closed"),
]


@pytest.mark.parametrize(
    ("start", "event", "actor", "kwargs", "end"),
    ALLOWED,
    ids=[f"{s}-{e}-{a.role.value}" for s, e, a, _, _ in ALLOWED],
)
def test_every_allowed_transition_is_taken(
    start: str, event: str, actor: Actor, kwargs: dict[str, object], end: str
) -> None:
    """E1/E2/E4/E5/S2: each action the Case Center offers moves the case as described, and
    the machine writes the new state on the case itself."""
    lifecycle, case = machine(start)
    assert lifecycle.refusal(event, actor=actor, **kwargs) is None
    lifecycle.act(event, actor=actor, **kwargs)
    assert case.state == end
    assert lifecycle.current_state_value == end


def test_a_problem_report_is_filed_at_l3_and_the_case_stays_open() -> None:
    """E2: an L3 owner files a PR; the case stays in progress."""
    lifecycle, case = machine("in_progress", level=Level.L3)
    assert lifecycle.refusal("file_problem_report", actor=OWNER) is None
    lifecycle.act("file_problem_report", actor=OWNER)
    assert case.state == "in_progress"


def test_a_case_walks_the_whole_way_from_queue_to_close() -> None:
    """E1, E2, E5, E4: queued -> assigned -> asks the customer -> answer -> escalated ->
    re-assigned -> resolved -> reopened -> resolved -> closed by the customer."""
    lifecycle, case = machine("queued")
    steps = [
        ("assign", ROUTING),
        ("request_info", OWNER),
        ("provide_info", CONTACT),
        ("escalate", OWNER),
        ("assign", ROUTING),
        ("resolve", OWNER),
        ("reopen", CONTACT),
        ("resolve", OWNER),
        ("close", CONTACT),
    ]
    seen = []
    for event, actor in steps:
        lifecycle.act(event, actor=actor)
        seen.append(case.state)
    assert seen == [
        "in_progress",
        "waiting_on_customer",
        "in_progress",
        "queued",
        "in_progress",
        "resolved",
        "in_progress",
        "resolved",
        "closed",
    ]


# --- the named guards ----------------------------------------------------------------------


def test_only_the_routing_engine_assigns() -> None:
    """E1: nobody picks a case off the queue by hand."""
    lifecycle, _ = machine("queued")
    for actor in (OWNER, CONTACT, STRANGER):
        assert lifecycle.refusal("assign", actor=actor) == GUARD_REFUSALS["actor_is_system"]


@pytest.mark.parametrize("actor", [OTHER_ENGINEER, CONTACT, STRANGER], ids=lambda a: a.id)
@pytest.mark.parametrize(
    ("state", "event"),
    [
        ("in_progress", "escalate"),
        ("in_progress", "respond"),
        ("waiting_on_customer", "respond"),
        ("in_progress", "request_info"),
        ("in_progress", "resolve"),
        ("waiting_on_customer", "resolve"),
    ],
)
def test_owner_only_actions_refuse_everybody_else(state: str, event: str, actor: Actor) -> None:
    """E2/S2/E5: only the engineer who owns the case responds, asks, escalates or resolves;
    the refusal names the actor."""
    lifecycle, _ = machine(state)
    reason = lifecycle.refusal(event, actor=actor)
    assert reason == (
        f"only the engineer who owns the case can do this; {actor.id} is not the owner"
    )


@pytest.mark.parametrize("actor", [OWNER, OTHER_ENGINEER, STRANGER], ids=lambda a: a.id)
@pytest.mark.parametrize(
    ("state", "event"),
    [("waiting_on_customer", "provide_info"), ("resolved", "reopen"), ("in_progress", "close")],
)
def test_contact_only_actions_refuse_everybody_else(state: str, event: str, actor: Actor) -> None:
    """E5/E4: the customer answers, reopens and closes; not the engineer, not a stranger."""
    lifecycle, _ = machine(state)
    assert lifecycle.refusal(event, actor=actor) == (
        f"only a contact of the account can do this; {actor.id} is not one"
    )


@pytest.mark.parametrize("actor", [OTHER_ENGINEER, STRANGER], ids=lambda a: a.id)
def test_comments_and_priority_come_from_a_party_to_the_case(actor: Actor) -> None:
    """E4: Case Comments and Change Priority belong to the customer and the owner."""
    lifecycle, _ = machine("in_progress")
    expected = (
        "only a contact of the account or the engineer who owns the case can do this; "
        f"{actor.id} is neither"
    )
    assert lifecycle.refusal("comment", actor=actor) == expected
    assert lifecycle.refusal("change_priority", actor=actor, priority=Priority.P1) == expected


@pytest.mark.parametrize("level", [Level.L0, Level.L1, Level.L2])
def test_escalation_below_l3_is_allowed_and_a_pr_is_not(level: Level) -> None:
    """E2: below L3 the owner escalates; a Problem Report waits until L3."""
    lifecycle, _ = machine("in_progress", level=level)
    assert lifecycle.refusal("escalate", actor=OWNER) is None
    assert lifecycle.refusal("file_problem_report", actor=OWNER) == (
        f"a Problem Report is filed at L3 only; the case is at {level}: escalate it first (E2)"
    )


def test_at_l3_there_is_no_next_level_to_escalate_to() -> None:
    """E2: at L3 the way up is a Problem Report to product engineering."""
    lifecycle, case = machine("in_progress", level=Level.L3)
    assert lifecycle.refusal("escalate", actor=OWNER) == GUARD_REFUSALS["below_top_level"]
    assert case.state == "in_progress"


def test_one_problem_report_per_case() -> None:
    """E2: a case linked to a PR is not linked to a second one."""
    lifecycle, _ = machine("in_progress", level=Level.L3, problem_report="PR-000042")
    assert lifecycle.refusal("file_problem_report", actor=OWNER) == (
        "the case is already linked to PR-000042"
    )


def test_changing_to_the_same_priority_is_refused() -> None:
    """S4: a priority change changes the priority, or it is refused."""
    lifecycle, _ = machine("in_progress", priority=Priority.P2)
    assert lifecycle.refusal("change_priority", actor=CONTACT, priority=Priority.P2) == (
        "the case is already P2"
    )
    assert lifecycle.refusal("change_priority", actor=CONTACT, priority=Priority.P1) is None


def test_the_first_failing_guard_is_the_one_reported() -> None:
    """E2: a stranger asking for a PR at L1 is told they are not the owner, first."""
    lifecycle, _ = machine("in_progress", level=Level.L1)
    assert "is not the owner" in (lifecycle.refusal("file_problem_report", actor=STRANGER) or "")


# --- events not possible in the state -------------------------------------------------------


def test_an_event_not_possible_now_names_the_state_and_what_is_allowed() -> None:
    """E4: asking for Escalate on a queued case says why and what can be done instead."""
    lifecycle, _ = machine("queued")
    assert lifecycle.refusal("escalate", actor=OWNER) == (
        "escalate is not possible while the case is queued; "
        "allowed now: attach, change_priority, close, comment, escalate_now"
    )


def test_waiting_on_customer_lists_its_actions() -> None:
    """E5: a case waiting on the customer cannot be escalated; the message says what can."""
    lifecycle, _ = machine("waiting_on_customer")
    assert lifecycle.refusal("escalate", actor=OWNER) == (
        "escalate is not possible while the case is waiting on customer; allowed now: "
        "attach, change_priority, close, comment, escalate_now, provide_info, resolve, respond"
    )


def test_a_resolved_case_cannot_change_priority() -> None:
    """E4: a resolved case is closed or reopened, not re-prioritised."""
    lifecycle, _ = machine("resolved")
    reason = lifecycle.refusal("change_priority", actor=CONTACT, priority=Priority.P1)
    assert reason == (
        "change priority is not possible while the case is resolved; "
        "allowed now: attach, close, comment, reopen"
    )


def test_assign_is_never_offered_to_people() -> None:
    """E1: the Case Center does not list assign as an action."""
    lifecycle, _ = machine("queued")
    assert "assign" not in lifecycle.allowed_now()


@pytest.mark.parametrize(
    ("state", "event", "actor"),
    [
        ("queued", "escalate", OWNER),
        ("in_progress", "escalate", STRANGER),
        ("in_progress", "provide_info", CONTACT),
        ("resolved", "respond", OWNER),
        ("in_progress", "close", OWNER),
    ],
)
def test_a_refused_event_leaves_the_case_where_it_was(state: str, event: str, actor: Actor) -> None:
    """E4: a refusal changes nothing: not on asking, and not if someone acts regardless."""
    lifecycle, case = machine(state)
    assert lifecycle.refusal(event, actor=actor) is not None
    assert case.state == state
    with pytest.raises(TransitionNotAllowed):
        lifecycle.act(event, actor=actor)
    assert case.state == state
    assert lifecycle.current_state_value == state


# --- closed is final; the customer may always close ----------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        "assign",
        "escalate",
        "respond",
        "comment",
        "request_info",
        "provide_info",
        "change_priority",
        "resolve",
        "reopen",
        "close",
        "file_problem_report",
    ],
)
def test_a_closed_case_allows_nothing(event: str) -> None:
    """E4: once the customer closes a case, nothing more happens on it."""
    lifecycle, case = machine("closed")
    assert lifecycle.allowed_now() == []
    assert lifecycle.refusal(event, actor=CONTACT, priority=Priority.P1) == (
        f"{event.replace('_', ' ')} is not possible while the case is closed; allowed now: nothing"
    )
    assert case.state == "closed"


@pytest.mark.parametrize("state", OPEN_STATES)
def test_the_customer_can_close_from_every_open_state(state: str) -> None:
    """E4: the customer can close their own case at any time; any contact of the account."""
    for contact in (CONTACT, Actor("acme-bob", ActorRole.CONTACT)):
        lifecycle, case = machine(state)
        assert "close" in lifecycle.allowed_now()
        assert lifecycle.refusal("close", actor=contact) is None
        lifecycle.act("close", actor=contact)
        assert case.state == "closed"


@pytest.mark.parametrize("state", OPEN_STATES)
def test_the_engineer_cannot_close_for_the_customer(state: str) -> None:
    """E4: closing is the customer's decision; the owner resolves instead."""
    lifecycle, case = machine(state)
    assert lifecycle.refusal("close", actor=OWNER) == (
        "only a contact of the account can do this; gsc-erin is not one"
    )
    assert case.state == state


def test_the_open_states_are_the_machines_states_but_closed() -> None:
    """`casework list --state` and the lifecycle name the same open states (the list takes
    them from the domain, without building a machine)."""
    states = {s.value for s in CaseLifecycle.states}
    assert set(OPEN_STATES) == states - {"closed"}
    assert len(OPEN_STATES) == len(set(OPEN_STATES))


def test_on_a_vendor_escalation_the_partners_engineers_are_the_customer_for_escalate_now() -> None:
    """E3/P4: on a vendor escalation the partner is our customer: an engineer of the partner
    Escalates Now (and does nothing else a contact does: the partner case is where they work);
    anyone else is refused naming who may. On any other case the customer is a contact."""
    lifecycle, model = machine("in_progress")
    model.intake = model.intake.model_copy(
        update={
            "escalated_from": "case-000001",
            "account_contacts": ["northwind-it"],
            "request": model.intake.request.model_copy(update={"contact_id": "northwind-it"}),
        }
    )
    pia = Actor("nw-pia", ActorRole.PARTNER_ENGINEER)
    assert lifecycle.refusal("escalate_now", actor=pia) is None
    for event in ("close", "comment", "change_priority"):
        assert lifecycle.refusal(event, actor=pia, priority=Priority.P1) is not None, event
    assert lifecycle.refusal("escalate_now", actor=STRANGER) == (
        "only an engineer of northwind-it, the partner this escalation to us is for (P4), can "
        "do this; mallory is not one"
    )
    direct, _ = machine("in_progress")
    assert direct.refusal("escalate_now", actor=STRANGER) == (
        "only a contact of the account can do this; mallory is not one"
    )


def test_the_page_offers_a_partner_engineer_what_the_lifecycle_lets_them_do() -> None:
    """P4: the actions the page offers a partner's engineer on its escalation are exactly the
    events the lifecycle guards with `actor_is_customer` (so page, API and CLI agree)."""
    guarded = {
        t.event
        for state in CaseLifecycle.states
        for t in state.transitions
        if "actor_is_customer" in [str(c) for c in t.cond]
    }
    assert guarded == set(ACTIONS_ON_ITS_ESCALATION)
