"""Skill-based routing (E1), shifts, and the Escalation Manager on duty (S3, E3). Pure."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from casework.domain.directory import Engineer, EscalationManager, Shift
from casework.domain.models import Category, ClockSpec, Level, PremiumCoverage
from casework.domain.routing import (
    choose_engineer,
    manager_on_duty,
    opening_level,
    queue_for,
    required_skills,
    routed_as_it_opens,
)
from tests.test_lifecycle import a_case

# Tuesday 4 March 2025, 15:00 UTC (10:00 in New York, 07:00 in Los Angeles)
TUESDAY_1500 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


def engineer(
    ident: str, level: Level = Level.L1, skills: tuple[str, ...] = ("FortiGate",), **shift: object
) -> Engineer:
    return Engineer(
        id=ident,
        name=ident.title(),
        level=level,
        skills=list(skills),
        shift=Shift(**shift) if shift else Shift(),  # type: ignore[arg-type]
    )


def choose(
    engineers: list[Engineer],
    *,
    level: Level = Level.L1,
    product: str = "FortiGate",
    category: Category = Category.SUPPORT,
    at: datetime = TUESDAY_1500,
    open_cases: dict[str, int] | None = None,
) -> str | None:
    chosen = choose_engineer(
        engineers,
        level=level,
        skills=required_skills(product, category),
        at=at,
        open_cases=open_cases or {},
    )
    return chosen.id if chosen else None


# --- skills and level ------------------------------------------------------------------------


def test_the_case_goes_to_an_engineer_of_its_level() -> None:
    """E1: an L2 case goes to the L2 engineer even when L1 engineers are idle."""
    team = [engineer("erin", Level.L1), engineer("grace", Level.L2), engineer("hugo", Level.L3)]
    assert choose(team, level=Level.L2) == "grace"
    assert choose(team, level=Level.L3) == "hugo"
    assert choose(team, level=Level.L0) is None


def test_the_engineer_must_know_the_product() -> None:
    """E1: a FortiAnalyzer case does not go to a FortiGate-only engineer."""
    team = [engineer("erin", skills=("FortiGate",)), engineer("farid", skills=("FortiAnalyzer",))]
    assert choose(team, product="FortiAnalyzer") == "farid"
    assert choose(team, product="FortiManager") is None


def test_skills_match_whatever_the_case_of_the_letters() -> None:
    """E1: 'fortigate' in a request is the FortiGate skill."""
    team = [engineer("erin", skills=("FORTIGATE",))]
    assert choose(team, product="fortigate") == "erin"
    assert choose(team, product="FortiGate") == "erin"


def test_a_security_vulnerability_needs_the_security_skill() -> None:
    """A5/E1: a security vulnerability issue goes to an engineer who has `security` as well as
    the product; a plain support issue does not need it."""
    team = [
        engineer("aaron", skills=("FortiGate",)),
        engineer("zoe", skills=("FortiGate", "Security")),
    ]
    assert choose(team, category=Category.SECURITY_VULNERABILITY) == "zoe"
    assert choose(team, category=Category.SUPPORT) == "aaron"
    assert choose(team[:1], category=Category.SECURITY_VULNERABILITY) is None


def test_required_skills_name_the_product_and_security_when_needed() -> None:
    """A5: the reason text of an unrouted case lists these."""
    assert required_skills("FortiGate", Category.SUPPORT) == ["FortiGate"]
    assert required_skills("FortiGate", Category.SECURITY_VULNERABILITY) == [
        "FortiGate",
        "security",
    ]


# --- load and tie-break ----------------------------------------------------------------------


def test_the_engineer_with_fewest_open_cases_gets_the_case() -> None:
    """E1: among matching engineers on shift, the least loaded one."""
    team = [engineer("erin"), engineer("ana"), engineer("bo")]
    assert choose(team, open_cases={"ana": 3, "bo": 1, "erin": 2}) == "bo"


def test_an_engineer_without_open_cases_counts_as_zero() -> None:
    team = [engineer("erin"), engineer("ana")]
    assert choose(team, open_cases={"ana": 1}) == "erin"


def test_equal_load_is_broken_by_id_so_the_choice_is_repeatable() -> None:
    """E1: the same directory and load always give the same engineer."""
    team = [engineer("erin"), engineer("ana"), engineer("bo")]
    assert choose(team, open_cases={"erin": 1, "ana": 1, "bo": 1}) == "ana"
    assert choose(list(reversed(team)), open_cases={"erin": 1, "ana": 1, "bo": 1}) == "ana"


def test_the_least_loaded_off_shift_engineer_is_passed_over() -> None:
    """E1: an idle engineer who is off shift does not get the case."""
    team = [
        engineer("ana", start=time(22, 0), end=time(6, 0)),  # nights, UTC
        engineer("bo"),
    ]
    assert choose(team, open_cases={"bo": 7}) == "bo"


def test_nobody_matching_means_no_assignment() -> None:
    """E1: no engineer with the skill, level and shift: the case waits in its queue."""
    assert choose([]) is None
    team = [engineer("ana", Level.L2, ("FortiManager",), days=["sat", "sun"])]
    assert choose(team, level=Level.L2, product="FortiGate") is None
    assert choose(team, level=Level.L2, product="FortiManager") is None  # Tuesday


# --- shifts ----------------------------------------------------------------------------------


def utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def test_a_day_shift_in_a_zone_covers_local_hours_only() -> None:
    """E1: 09:00-17:00 Monday to Friday in Los Angeles is 17:00-01:00 UTC in March (PST)."""
    shift = Shift(
        zone="America/Los_Angeles",
        days=["mon", "tue", "wed", "thu", "fri"],
        start=time(9, 0),
        end=time(17, 0),
    )
    assert not shift.covers(utc(2025, 3, 4, 16, 59))  # 08:59 PST
    assert shift.covers(utc(2025, 3, 4, 17, 0))  # 09:00 PST
    assert shift.covers(utc(2025, 3, 5, 0, 59))  # Tue 16:59 PST, Wednesday in UTC
    assert not shift.covers(utc(2025, 3, 5, 1, 0))  # 17:00 PST: the shift has ended
    # Monday 00:30 UTC is Sunday afternoon in Los Angeles: not a working day there.
    assert not shift.covers(utc(2025, 3, 3, 0, 30))


def test_a_zoned_shift_follows_daylight_saving() -> None:
    """E1: after the US change to PDT (9 March 2025), 09:00 local is 16:00 UTC."""
    shift = Shift(zone="America/Los_Angeles", days=["mon"], start=time(9, 0), end=time(17, 0))
    assert shift.covers(utc(2025, 3, 10, 16, 0))
    assert not shift.covers(utc(2025, 3, 3, 16, 0))  # a week earlier it was 08:00 PST


def test_a_night_shift_spans_midnight_and_belongs_to_the_day_it_starts() -> None:
    """E1: Friday 22:00-06:00 New York covers Friday night and Saturday morning, not Saturday
    night and not Friday morning."""
    shift = Shift(zone="America/New_York", days=["fri"], start=time(22, 0), end=time(6, 0))
    # 7 March 2025 is a Friday; New York is UTC-5.
    assert not shift.covers(utc(2025, 3, 8, 2, 59))  # Fri 21:59
    assert shift.covers(utc(2025, 3, 8, 3, 0))  # Fri 22:00
    assert shift.covers(utc(2025, 3, 8, 10, 59))  # Sat 05:59
    assert not shift.covers(utc(2025, 3, 8, 11, 0))  # Sat 06:00: over
    assert not shift.covers(utc(2025, 3, 9, 3, 30))  # Sat 22:30: Saturday is not a shift day
    assert not shift.covers(utc(2025, 3, 7, 9, 0))  # Fri 04:00 belongs to Thursday's night


def test_start_equal_to_end_is_the_whole_day_on_listed_days() -> None:
    shift = Shift(zone="Europe/Berlin", days=["sat", "sun"])
    assert shift.covers(utc(2025, 3, 8, 0, 0))  # Sat 01:00 Berlin
    assert shift.covers(utc(2025, 3, 9, 22, 59))  # Sun 23:59 Berlin
    assert not shift.covers(utc(2025, 3, 9, 23, 0))  # Mon 00:00 Berlin


def test_the_default_shift_is_around_the_clock() -> None:
    """A2: the Global Support Center runs 24x7x365."""
    shift = Shift()
    for hour in (0, 6, 12, 23):
        for day in range(3, 10):  # Monday to Sunday
            assert shift.covers(utc(2025, 3, day, hour, 30))


def test_weekday_names_may_be_written_in_full_and_any_case() -> None:
    shift = Shift(days=["Monday", "TUESDAY"])
    assert shift.days == ["mon", "tue"]
    assert shift.covers(TUESDAY_1500)


def test_routing_respects_time_zones_of_shifts() -> None:
    """E1: at 15:00 UTC the New York day engineer is at work, the Los Angeles one is not."""
    weekdays = ["mon", "tue", "wed", "thu", "fri"]
    team = [
        engineer("ana", zone="America/Los_Angeles", days=weekdays, start=time(9), end=time(17)),
        engineer("bo", zone="America/New_York", days=weekdays, start=time(9), end=time(17)),
    ]
    assert choose(team, open_cases={"bo": 5}) == "bo"
    assert choose(team, at=utc(2025, 3, 4, 21, 0), open_cases={"bo": 5}) == "ana"
    assert choose(team, at=utc(2025, 3, 5, 3, 0)) is None  # night on both coasts


# --- the Escalation Manager on duty --------------------------------------------------------


ROTA = [
    EscalationManager(id="em-ines", name="Ines", shift=Shift(start=time(0), end=time(12))),
    EscalationManager(id="em-jon", name="Jon", shift=Shift(start=time(12), end=time(0))),
]


def test_the_manager_whose_shift_covers_the_time_is_on_duty() -> None:
    """S3/E3: the breach alert goes to the manager on shift at the moment of the breach."""
    assert manager_on_duty(ROTA, utc(2025, 3, 4, 0, 0)).id == "em-ines"
    assert manager_on_duty(ROTA, utc(2025, 3, 4, 11, 59)).id == "em-ines"
    assert manager_on_duty(ROTA, utc(2025, 3, 4, 12, 0)).id == "em-jon"
    assert manager_on_duty(ROTA, utc(2025, 3, 4, 23, 59)).id == "em-jon"


def test_a_gap_in_the_rota_falls_to_its_first_manager() -> None:
    """E3: managers are on duty 24x7: somebody always answers, the rota's first by default."""
    rota = [
        EscalationManager(id="em-a", name="A", shift=Shift(days=["sat"])),
        EscalationManager(id="em-b", name="B", shift=Shift(days=["sun"])),
    ]
    assert manager_on_duty(rota, TUESDAY_1500).id == "em-a"
    assert manager_on_duty(rota, utc(2025, 3, 9, 10)).id == "em-b"


def test_the_rota_order_decides_between_overlapping_shifts() -> None:
    rota = [
        EscalationManager(id="em-b", name="B"),
        EscalationManager(id="em-a", name="A"),
    ]
    assert manager_on_duty(rota, TUESDAY_1500).id == "em-b"


# --- queues ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "queue"),
    [(Level.L0, "customer-care"), (Level.L1, "gsc"), (Level.L2, "gsc"), (Level.L3, "gec")],
)
def test_each_level_has_its_queue(level: Level, queue: str) -> None:
    """E1 (our reading): L0 Customer Care, L1-L2 Global Support Center, L3 Global Escalation
    Center."""
    assert queue_for(level) == queue


# --- routed as it opens (E1, U4, A3) -----------------------------------------------------------


def test_a_case_is_routed_as_it_opens_unless_it_waits_for_hours_or_an_expert() -> None:
    """E1: a 24x7 case is routed the moment it opens; U4: a business-hours case opened out of
    its hours waits for them; A3: a premium account's case is first offered to its expert.
    Tuesday 15:00 UTC is 10:00 in New York; 03:00 UTC is 22:00 the evening before."""
    intake = a_case().intake
    assert routed_as_it_opens(intake, TUESDAY_1500)
    eastern = ClockSpec(kind="business_hours", zone="America/New_York")
    restricted = intake.model_copy(
        update={"entitlement": intake.entitlement.model_copy(update={"clock": eastern})}
    )
    assert routed_as_it_opens(restricted, TUESDAY_1500)
    assert not routed_as_it_opens(restricted, TUESDAY_1500.replace(hour=3))
    expert = PremiumCoverage(
        offering="csm", expert_id="sme-olivia", expert_name="Olivia Stone", hours=eastern
    )
    premium = intake.model_copy(
        update={"entitlement": intake.entitlement.model_copy(update={"premium": expert})}
    )
    assert not routed_as_it_opens(premium, TUESDAY_1500)


def test_a_case_opens_at_l0_a_security_issue_at_l2_and_a_vendor_escalation_at_l3() -> None:
    """E1, A5, P4: the level a new case starts (and is first routed) at."""
    intake = a_case().intake
    assert opening_level(intake) is Level.L0
    request = intake.request.model_copy(update={"category": Category.SECURITY_VULNERABILITY})
    assert opening_level(intake.model_copy(update={"request": request})) is Level.L2
    assert opening_level(intake.model_copy(update={"escalated_from": "case-000007"})) is Level.L3
