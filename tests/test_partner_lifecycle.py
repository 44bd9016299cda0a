"""The partner case's lifecycle (P3, P4), pure: at L2 a partner case's escalation goes to the
vendor and the case waits on the vendor; only the vendor's answer brings it back; the customer
may still comment and close. Our own cases climb the ladder as before."""

from __future__ import annotations

import pytest

from casework.domain.lifecycle import Actor, CaseLifecycle
from casework.domain.models import ActorRole, CaseState, Level
from tests.test_lifecycle import CONTACT, OWNER, a_case


def partner_case(state: str, level: Level) -> tuple[CaseLifecycle, CaseState]:
    case = a_case(state, level=level)
    case.intake.entitlement.partner_id = "northwind-it"
    return CaseLifecycle(case), case


def test_a_partner_case_at_l2_escalates_to_the_vendor() -> None:
    """P4: the partner's L2 owner escalates: the case waits on the vendor, it is not queued."""
    lifecycle, case = partner_case("in_progress", Level.L2)
    assert lifecycle.refusal("escalate", actor=OWNER) is None
    lifecycle.act("escalate", actor=OWNER)
    assert case.state == "waiting_on_vendor"
    assert lifecycle.allowed_now() == ["close", "comment"]


@pytest.mark.parametrize("level", [Level.L0, Level.L1])
def test_below_l2_a_partner_case_climbs_the_partner_ladder(level: Level) -> None:
    """P3: at L0 and L1 the partner escalates within its own team, back to the queue."""
    lifecycle, case = partner_case("in_progress", level)
    lifecycle.act("escalate", actor=OWNER)
    assert case.state == "queued"


def test_only_the_vendor_brings_the_case_back() -> None:
    """P4: the vendor's resolution returns the case to the partner's engineer; the partner or
    its customer cannot fake it."""
    lifecycle, case = partner_case("waiting_on_vendor", Level.L2)
    for actor in (OWNER, CONTACT):
        assert lifecycle.refusal("vendor_resolved", actor=actor) == (
            "only the routing engine assigns cases"
        )
    assert lifecycle.refusal("resolve", actor=OWNER) is not None
    lifecycle.act("vendor_resolved", actor=Actor("vendor", ActorRole.SYSTEM))
    assert case.state == "in_progress"
    assert lifecycle.refusal("resolve", actor=OWNER) is None


def test_our_case_at_l2_goes_to_our_l3_and_at_l3_files_a_pr() -> None:
    """E2: without a partner, escalation at L2 queues the case for our L3; at L3 the refusal
    still points to a Problem Report."""
    ours = a_case("in_progress", level=Level.L2)
    CaseLifecycle(ours).act("escalate", actor=OWNER)
    assert ours.state == "queued"
    top = CaseLifecycle(a_case("in_progress", level=Level.L3))
    assert "file a Problem Report" in (top.refusal("escalate", actor=OWNER) or "")
