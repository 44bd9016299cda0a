"""Partner cases (P3, P4), from the outside: a Support Now partner opens a case for its PAR
customer and works it with its own engineers at L0-L2, in its own queue, with the same
lifecycle, feed and SLA clock as ours; at L2 it escalates to our L3, which talks only to the
partner, may ask the partner for information, and returns its resolution to the partner case.
Only the validated partner that owns the account opens or escalates its cases.

The demo directory: account `soylent` (GOLD) is PAR through `northwind-it`, whose engineers are
nw-nora (L0), nw-omar (L1) and nw-pia (L2); our L3 is gec-hugo.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from casework.client import CaseworkError
from casework.domain.actions import ActionResult
from casework.domain.directory import Directory, Partner
from casework.domain.models import CaseView
from casework.domain.sla import SlaPolicy, policy_with
from casework.identity.interceptors import acting
from casework.identity.principal import Principal
from casework.store import Store
from tests.conftest import Desk, eventually

PARTNER = "northwind-it"
PARTNER_ADDRESS = "support@northwind.example"


def partner_targets_policy() -> SlaPolicy:
    """S5/P3: the partner's own response targets, in seconds so the test can watch them."""
    return policy_with(
        partner_targets={
            "GOLD": {"P1": "2h", "P2": "4h", "P3": "1d"},
            "PLATINUM": {"P1": "1h", "P2": "2h", "P3": "8h"},
        }
    )


async def open_partner_case(desk: Desk, **overrides: Any) -> str:
    fields: dict[str, Any] = {
        "channel": "partner",
        "partner_id": PARTNER,
        "account_id": "soylent",
        "contact_id": "soylent-sam",
        "priority": "P1",
    }
    fields.update(overrides)
    return await desk.open(**fields)


def owned_by(engineer_id: str) -> Callable[[CaseView], bool]:
    return lambda v: (
        v.state == "in_progress" and v.owner is not None and (v.owner.engineer_id == engineer_id)
    )


async def refusal(desk: Desk, case_id: str, action: str, **payload: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await desk.act(case_id, action, **payload)
    assert isinstance(refused.value.cause, ApplicationError)
    return str(refused.value.cause)


async def to_partner_l2(desk: Desk, case_id: str) -> CaseView:
    await desk.until(case_id, owned_by("nw-nora"))
    await desk.act(case_id, "escalate", actor="nw-nora", reason="needs troubleshooting")
    await desk.until(case_id, owned_by("nw-omar"))
    await desk.act(case_id, "escalate", actor="nw-omar", reason="needs log review")
    return await desk.until(case_id, owned_by("nw-pia"))


# --- P3: the partner works its case at L0-L2 ----------------------------------------------------


@pytest.mark.parametrize("policy", [partner_targets_policy()], ids=["partner-targets"])
async def test_a_partner_case_is_worked_at_l0_to_l2_by_the_partner(
    desk: Desk, store: Store
) -> None:
    """P3: the partner's engineers take the case at L0, L1 and L2, in the partner's queue, never
    ours; the SLA clock runs on the partner's targets from the policy file and stops at the
    partner engineer's first response; our engineers cannot act on it."""
    case_id = await open_partner_case(desk)
    l0 = await desk.until(case_id, owned_by("nw-nora"))
    assert (l0.channel, l0.partner_id, l0.level, l0.queue) == (
        "partner",
        PARTNER,
        "L0",
        f"partner:{PARTNER}",
    )
    assert l0.sla.target == timedelta(hours=2), "GOLD P1 from partner_targets, not S1's 30m"
    assert l0.sla.due_at == l0.opened_at + timedelta(hours=2)

    message = await refusal(desk, case_id, "respond", actor="cc-dana", text="ours?")
    assert "cc-dana is not the owner" in message
    responded = await desk.act(case_id, "respond", actor="nw-nora", text="Northwind here")
    assert "SLA clock stopped" in responded.message

    await desk.act(case_id, "request_info", actor="nw-nora", items=["logs"], text="debug log")
    waiting = await desk.view(case_id)
    assert waiting.state == "waiting_on_customer" and waiting.waiting_for == ["logs"]
    await desk.act(case_id, "provide_info", actor="soylent-sam", text="uploaded")

    l2 = await to_partner_l2(desk, case_id)
    assert (l2.level, l2.queue) == ("L2", f"partner:{PARTNER}")
    assigned = [e.text.split(" (")[1].split(")")[0] for e in l2.feed if e.kind == "assigned"]
    assert assigned == ["nw-nora", "nw-omar", "nw-pia"]
    assert not any(
        e["recipient_id"] in ("cc-dana", "gsc-erin", "gsc-grace")
        for e in (store.outbox.rows(case_id))
    ), "none of our engineers is told about a partner case"

    await desk.act(case_id, "resolve", actor="nw-pia", resolution="Re-seated the HA link")
    await desk.act(case_id, "close", actor="soylent-sam", reason="works")
    assert (await desk.view(case_id)).state == "closed"


async def test_our_cases_never_go_to_a_partner_engineer(desk: Desk) -> None:
    """P3/E1: partner engineers work only their partner's cases: a direct case is routed to
    our L0 even though nw-nora has the same skills."""
    case_id = await desk.open(account_id="globex", contact_id="globex-carol")
    view = await desk.until(case_id, owned_by("cc-dana"))
    assert view.queue == "customer-care" and view.partner_id is None


async def test_a_partner_case_waits_in_its_queue_without_a_partner_engineer(
    desk: Desk, store: Store, directory: Directory
) -> None:
    """P3: with no partner engineer on the directory, the case waits in the partner's queue;
    it is never handed to one of our engineers."""
    directory.engineers = [e for e in directory.engineers if e.partner is None]
    store.directory.replace(directory)
    case_id = await open_partner_case(desk)
    view = await desk.until(case_id, lambda v: any(e.kind == "waiting_in_queue" for e in v.feed))
    assert (view.state, view.owner, view.queue) == ("queued", None, f"partner:{PARTNER}")
    entry = next(e for e in view.feed if e.kind == "waiting_in_queue")
    assert f"no {PARTNER} L0 engineer" in entry.text


# --- P4: the escalation to our L3 -----------------------------------------------------------


async def test_an_escalation_reaches_our_l3_talks_only_to_the_partner_and_returns(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """P4: the partner's L2 escalates: a vendor escalation `<case>-esc-1` starts at our L3
    (gec-hugo, queue gec) on our S1 clock (GOLD P1: 30m); the partner case waits on the vendor
    and sees our progress on its feed. Our L3 asks for information: the escalation waits on the
    partner, the partner's comment on its own case answers it. Every message of ours goes to
    the partner, none to the customer. Our resolution returns to the partner case, back with
    nw-pia, who resolves it with the customer."""
    case_id = await open_partner_case(desk)
    await to_partner_l2(desk, case_id)
    before = {n["id"] for n in store.outbox.rows()}

    escalated = await desk.act(case_id, "escalate", actor="nw-pia", reason="looks like a bug")
    escalation_id = f"{case_id}-esc-1"
    desk.opened.insert(0, escalation_id)  # tidy up the escalation before its partner case
    assert escalated.state == "waiting_on_vendor" and escalation_id in escalated.message

    ours = await desk.until(escalation_id, owned_by("gec-hugo"))
    assert (ours.level, ours.queue, ours.escalated_from) == ("L3", "gec", case_id)
    assert ours.contact_id == PARTNER and ours.account_id == "soylent"
    assert ours.sla.target == timedelta(minutes=30), "our S1 clock, GOLD P1"
    partner_case = await desk.view(case_id)
    assert partner_case.state == "waiting_on_vendor"
    assert partner_case.owner is not None and partner_case.owner.engineer_id == "nw-pia"
    assert [e.escalation_id for e in partner_case.vendor_escalations] == [escalation_id]

    await desk.act(escalation_id, "respond", actor="gec-hugo", text="Our L3 has it")
    await desk.act(
        escalation_id, "request_info", actor="gec-hugo", items=["configuration"], text="HA cfg"
    )
    seen = await desk.until(case_id, lambda v: any(e.kind == "vendor_request_info" for e in v.feed))
    assert seen.vendor_escalations[0].state == "waiting_on_customer"
    assert any(e.kind == "vendor_first_response" and e.actor == "gec-hugo" for e in seen.feed)
    assert (await desk.view(escalation_id)).state == "waiting_on_customer"

    added = await desk.act(case_id, "comment", actor="nw-pia", text="HA config attached")
    assert escalation_id in added.message
    answered = await desk.until(escalation_id, lambda v: v.state == "in_progress")
    provided = [e for e in answered.feed if e.kind == "provide_info"]
    assert provided and provided[0].actor == PARTNER and "HA config attached" in provided[0].text

    await desk.act(escalation_id, "resolve", actor="gec-hugo", resolution="Fixed in 7.4.4")
    back = await desk.until(case_id, owned_by("nw-pia"))
    assert back.vendor_escalations[0].status == "resolved"
    assert back.vendor_escalations[0].resolution == "Fixed in 7.4.4"
    assert any(e.kind == "vendor_resolve" and "Fixed in 7.4.4" in e.text for e in back.feed)
    done = await desk.until(escalation_id, lambda v: v.state == "closed")
    assert done.closed_at is not None

    ours_told = [n for n in store.outbox.rows() if n["id"] not in before]
    to_escalation = [n for n in ours_told if n["case_id"] == escalation_id]
    assert {(n["recipient_kind"], n["recipient_id"]) for n in to_escalation} >= {
        ("partner", PARTNER),
        ("engineer", "gec-hugo"),
    }
    assert all(n["recipient_id"] != "soylent-sam" for n in to_escalation), "never the customer"
    assert all(
        n["address"] == PARTNER_ADDRESS for n in to_escalation if n["recipient_kind"] == "partner"
    )
    assert not [n for n in ours_told if n["recipient_kind"] == "contact" and "-esc-" in n["body"]]
    closing = await eventually(
        lambda: [n for n in store.outbox.rows(escalation_id) if "closed" in n["subject"]]
    )
    assert "partner case" in closing[0]["body"] and "customer" not in closing[0]["body"]

    await desk.act(case_id, "resolve", actor="nw-pia", resolution="Upgrade to 7.4.4")
    await desk.act(case_id, "close", actor="soylent-sam")
    assert (await desk.view(case_id)).state == "closed"


async def test_closing_the_partner_case_withdraws_its_escalation(desk: Desk) -> None:
    """P4/E4: the customer may close the partner case at any time; our open escalation is then
    withdrawn (closed by the partner) rather than left running with nobody to answer."""
    case_id = await open_partner_case(desk)
    await to_partner_l2(desk, case_id)
    await desk.act(case_id, "escalate", actor="nw-pia", reason="looks like a bug")
    escalation_id = f"{case_id}-esc-1"
    desk.opened.insert(0, escalation_id)
    await desk.until(escalation_id, owned_by("gec-hugo"))

    await desk.act(case_id, "close", actor="soylent-sam", reason="replaced the unit")
    closed = await desk.until(escalation_id, lambda v: v.state == "closed")
    assert any(e.kind == "close" and e.actor == PARTNER for e in closed.feed)
    final = await desk.result(case_id)
    assert final.vendor_escalations[0].status == "withdrawn"


async def test_our_case_at_l3_is_not_a_vendor_escalation(desk: Desk) -> None:
    """E2/P4: only a partner case at L2 becomes a vendor escalation; one of ours climbs to L3
    in the same case as before."""
    case_id = await desk.open(account_id="globex", contact_id="globex-carol")
    await desk.until(case_id, owned_by("cc-dana"))
    await desk.act(case_id, "escalate", actor="cc-dana", reason="L1")
    await desk.until(case_id, owned_by("gsc-erin"))
    await desk.act(case_id, "escalate", actor="gsc-erin", reason="L2")
    await desk.until(case_id, owned_by("gsc-grace"))
    result = await desk.act(case_id, "escalate", actor="gsc-grace", reason="L3")
    assert result.state == "queued" and result.level == "L3"
    view = await desk.until(case_id, owned_by("gec-hugo"))
    assert view.vendor_escalations == []


# --- P1/P4: only the owning, validated partner ---------------------------------------------


def with_partners(store: Store, directory: Directory) -> None:
    """A validated partner that does not own soylent, and one that is not validated."""
    directory.partners += [
        Partner(
            id="fabrikam",
            name="Fabrikam",
            email="help@fabrikam.example",
            support_now_validated=True,
        ),
        Partner(id="shady-it", name="Shady IT", email="x@shady.example"),
    ]
    store.directory.replace(directory)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {"partner_id": "fabrikam"},
            "account soylent is Partner Branded Support through northwind-it, not fabrikam: "
            "only the partner that owns the account can open or escalate its cases (P4)",
        ),
        (
            {"partner_id": "shady-it"},
            "partner shady-it is not a validated member of the Support Now program",
        ),
        ({"partner_id": "nobody"}, "unknown partner 'nobody'"),
        (
            {"account_id": "globex", "contact_id": "globex-carol"},
            "account globex is supported by us directly, not through a partner",
        ),
    ],
    ids=["foreign-partner", "unvalidated-partner", "unknown-partner", "direct-account"],
)
async def test_only_the_validated_owning_partner_opens_a_case(
    desk: Desk, store: Store, directory: Directory, fields: dict[str, str], reason: str
) -> None:
    """P1/P4: anything but the validated partner that owns the account is refused with the
    reason, and nothing is opened."""
    with_partners(store, directory)
    with pytest.raises(CaseworkError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        await open_partner_case(desk, **fields)
    assert desk.opened == []
    assert store.tracker.open_case_counts() == {}


def test_a_partner_case_names_its_partner_and_only_it_does() -> None:
    """P3: channel partner needs partner_id; another channel may not carry one."""
    from pydantic import ValidationError

    from casework.domain.models import OpenCaseRequest

    base = {
        "request_id": "r-1",
        "account_id": "soylent",
        "contact_id": "soylent-sam",
        "product": "FortiGate",
        "version": "7.4.3",
        "priority": "P1",
        "description": "x",
    }
    with pytest.raises(ValidationError, match="channel partner needs partner_id"):
        OpenCaseRequest.model_validate({**base, "channel": "partner"})
    with pytest.raises(ValidationError, match="partner_id is for channel partner only"):
        OpenCaseRequest.model_validate({**base, "channel": "web", "partner_id": PARTNER})


async def test_a_partner_that_lost_its_validation_cannot_escalate(
    desk: Desk, store: Store, directory: Directory
) -> None:
    """P1/P4: the escalation is checked against the directory at the time: a partner no longer
    validated is refused, the case stays at the partner's L2 and no escalation starts."""
    case_id = await open_partner_case(desk)
    await to_partner_l2(desk, case_id)
    northwind = next(p for p in directory.partners if p.id == PARTNER)
    northwind.support_now_validated = False  # as an older database may hold it
    store.directory.replace(directory)

    message = await refusal(desk, case_id, "escalate", actor="nw-pia", reason="bug")
    assert "not a validated member of the Support Now program" in message
    view = await desk.view(case_id)
    assert (view.state, view.level, view.vendor_escalations) == ("in_progress", "L2", [])
    assert view.feed[-1].refused and view.feed[-1].kind == "escalate"


async def test_a_partner_engineer_who_does_not_own_the_case_cannot_escalate(desk: Desk) -> None:
    """P4: only the owner (the partner's L2 engineer) escalates; our L3 cannot pull it."""
    case_id = await open_partner_case(desk)
    await to_partner_l2(desk, case_id)
    for actor in ("nw-omar", "gec-hugo", "soylent-sam"):
        message = await refusal(desk, case_id, "escalate", actor=actor, reason="mine")
        assert f"{actor} is not the owner" in message
    assert (await desk.view(case_id)).state == "in_progress"


# --- P2/P4 with E3/S3: escalations of a partner case go through the partner -------------------


async def test_a_par_customer_escalates_with_the_partner_and_a_breach_goes_to_the_partner(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """P2/P4/E3: the PAR customer's Escalate Now on a partner case is refused with where to go
    instead (nothing changes); S3/P3: an unanswered partner case breaches on the partner's
    target and the partner is told, not our Escalation Managers."""
    case_id = await open_partner_case(desk)
    opened = await desk.until(case_id, owned_by("nw-nora"))
    message = await refusal(desk, case_id, "escalate_now", actor="soylent-sam", reason="expertise")
    assert "escalate with your partner" in message
    assert not (await desk.view(case_id)).escalations

    await env.sleep(opened.sla.due_at - await env.get_current_time() + timedelta(seconds=1))
    breached = await desk.until(case_id, lambda v: v.sla.breached_at is not None)
    assert breached.sla.breached_at == opened.sla.due_at
    told = await eventually(
        lambda: [n for n in store.outbox.rows(case_id) if "SLA breach" in n["subject"]]
    )
    assert [(n["recipient_kind"], n["recipient_id"]) for n in told] == [("partner", PARTNER)]
    assert not [
        n for n in store.outbox.rows(case_id) if n["recipient_kind"] == "escalation_manager"
    ]
    assert not (await desk.view(case_id)).escalations
    await desk.act(case_id, "close", actor="soylent-sam")


def with_another_partner(directory: Directory) -> Directory:
    """The demo directory and a second validated partner, Eastwind, with an L2 engineer of its
    own (ew-eve): an engineer, but not Northwind's."""
    directory.partners.append(
        Partner(
            id="eastwind",
            name="Eastwind Networks",
            email="help@eastwind.example",
            support_now_validated=True,
        )
    )
    pia = next(e for e in directory.engineers if e.id == "nw-pia")
    directory.engineers.append(pia.model_copy(update={"id": "ew-eve", "partner": "eastwind"}))
    return directory


async def test_on_a_vendor_escalation_the_partners_engineers_escalate_now(
    desk: Desk, store: Store, directory: Directory
) -> None:
    """P4/E3: on our side of the escalation the partner is our customer, and its engineers are
    the people who speak for it: any of them (not only the one who escalated) presses Escalate
    Now, and Customer Care records one's call (`--for`); the escalation's manager is alerted and
    the partner is told. Nobody else may: a customer of another account, the partner's own
    customer (P4: the vendor talks to the partner), another partner's engineer, our own
    engineer; each is refused saying who may, and nothing is escalated."""
    store.directory.replace(with_another_partner(directory))
    case_id = await open_partner_case(desk)
    await to_partner_l2(desk, case_id)
    await desk.act(case_id, "escalate", actor="nw-pia", reason="looks like a bug")
    escalation_id = f"{case_id}-esc-1"
    desk.opened.insert(0, escalation_id)  # tidied up before its parent
    await desk.until(escalation_id, lambda v: v.state == "in_progress")

    for stranger in ("acme-alice", "soylent-sam", "ew-eve", "gec-hugo"):
        message = await refusal(
            desk, escalation_id, "escalate_now", actor=stranger, reason="expertise"
        )
        assert f"an engineer of {PARTNER}" in message and f"{stranger} is not one" in message
    assert not (await desk.view(escalation_id)).escalations

    answer = await desk.act(
        escalation_id, "escalate_now", actor="nw-omar", reason="business_impact", note="plant down"
    )
    assert answer.escalation_id == f"{escalation_id}-E1" and answer.escalation_manager
    first = (await desk.view(escalation_id)).escalations[-1]
    assert (first.raised_by, first.channel) == ("nw-omar", "online")
    told = await eventually(
        lambda: [n for n in store.outbox.rows(escalation_id) if "escalated" in n["subject"]]
    )
    assert [(n["recipient_kind"], n["recipient_id"]) for n in told] == [("partner", PARTNER)]

    await desk.act(escalation_id, "de_escalate", actor=first.manager.id, note="on track")
    with acting(Principal(id="cc-dana", on_behalf_of="nw-pia")):  # as the door signs it
        await desk.case(escalation_id).execute_update(
            "escalate_now",
            {
                "actor": "nw-pia",
                "reason": "expertise",
                "channel": "phone",
                "recorded_by": "cc-dana",
            },
            result_type=ActionResult,
        )
    second = (await desk.view(escalation_id)).escalations[-1]
    assert (second.escalation_id, second.raised_by) == (f"{escalation_id}-E2", "nw-pia")
    assert (second.channel, second.recorded_by) == ("phone", "cc-dana")
    await desk.act(case_id, "close", actor="soylent-sam")
