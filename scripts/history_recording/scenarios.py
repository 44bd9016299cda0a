"""The scenarios scripts/record_histories.py records, one function each (what each covers:
that script's docstring), in `SCENARIOS`, their recording order."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from casework.domain.business_calendar import calendar_for, closed_days
from casework.domain.models import CaseView, OpenCaseRequest
from casework.identity.interceptors import acting
from casework.identity.principal import Principal
from casework.notify.config import RelayConfig
from casework.notify.contracts import RELAY_WORKFLOW, WAKE, RelayState, relay_id
from casework.store import Store
from history_recording.recorder import (
    CASE_OPTIONS,
    POLICY,
    STORED_SHA,
    TEST_RING,
    Recorder,
    at_level,
    owner_of,
)
from worker import activities_for, build_worker


async def ladder(r: Recorder) -> None:
    """E1/E2/S2: L0 -> L3, a Problem Report, resolved and closed by the customer."""
    case_id = await r.open("ladder")
    view = await r.until(case_id, lambda v: v.state == "in_progress")
    await r.act(case_id, "respond", actor=owner_of(view), text="Looking at it now")
    for level in ("L1", "L2", "L3"):
        owner = owner_of(view)
        await r.act(case_id, "escalate", actor=owner, reason=f"needs {level}")
        view = await r.until(case_id, at_level(level))
    owner = owner_of(view)
    await r.act(case_id, "file_problem_report", actor=owner, summary="ipsd crash on failover")
    await r.act(case_id, "resolve", actor=owner, resolution="fixed in 7.4.4")
    await r.act(case_id, "close", actor="acme-alice", reason="thanks")
    await r.finished("ladder", case_id)


async def breach(r: Recorder) -> None:
    """A5/S3/S4: a security case nobody has answered is raised to P1 after the P1 target has
    passed, so it is in breach at once, and the customer closes it."""
    case_id = await r.open(
        "breach",
        account_id="globex",
        contact_id="globex-carol",
        priority="P3",
        category="security_vulnerability",
    )
    await r.until(case_id, lambda v: v.state == "in_progress")
    await asyncio.sleep(2.5)  # past the P1 target (2 s), well inside P3 (8 min)
    await r.act(case_id, "change_priority", actor="globex-carol", priority="P1", reason="outage")
    await r.until(case_id, lambda v: v.sla.breached_at is not None)
    await r.act(case_id, "comment", actor="globex-carol", text="still nobody?")
    await r.act(case_id, "close", actor="globex-carol", reason="fixed it ourselves")
    await r.finished("breach", case_id)


async def refusals(r: Recorder) -> None:
    """E4/E5: refused actions on the feed, waiting on the customer, continue-as-new."""
    case_id = await r.open("refusals", {"continue_as_new_after_events": 60})
    view = await r.until(case_id, lambda v: v.state == "in_progress")
    owner = owner_of(view)
    await r.refused(case_id, "escalate", {"actor": "mallory", "reason": "let me in"})
    await r.refused(case_id, "respond", {"actor": owner})  # no text: rejected at the door
    await r.refused(case_id, "close", {"actor": owner})  # only the customer closes (E4)
    await r.refused(case_id, "change_priority", {"actor": "acme-alice", "priority": "P2"})
    handle = r.case(case_id)
    await handle.signal("act", {"action": "dance", "actor": "acme-bob"})
    await handle.signal("act", {"action": "resolve", "actor": "acme-bob", "resolution": "x"})
    await r.act(case_id, "respond", actor=owner, text="Please send logs")
    await r.act(case_id, "request_info", actor=owner, items=["logs", "hardware"], text="debug")
    await r.refused(case_id, "escalate", {"actor": owner, "reason": "waiting"})
    await r.act(case_id, "provide_info", actor="acme-bob", text="attached: ref-123")
    first_run = (await handle.describe()).run_id
    # Past 60 events: the case rolls over once its handlers and side effects are done.
    for n in range(400):
        if n < 30 and n % 10 < 3:
            await r.act(case_id, "comment", actor="acme-alice", text=f"any news? ({n})")
        if (await handle.describe()).run_id != first_run:
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError("the case never continued as new")
    await r.save("refusals-case-run1", r.case(case_id, first_run))
    await r.act(case_id, "comment", actor=owner, text="carried over, still on it")
    await r.act(case_id, "resolve", actor=owner, resolution="config fix")
    await r.act(case_id, "reopen", actor="acme-alice", reason="back again")
    await r.act(case_id, "resolve", actor=owner, resolution="config fix, take two")
    await r.act(case_id, "close", actor="acme-alice")
    await r.finished("refusals", case_id)


async def before_business_hours(env: WorkflowEnvironment) -> datetime:
    """Skip the server to 8:59:50 Eastern on the next business day (U4); returns 9:00."""
    eastern = ZoneInfo("America/New_York")
    now = await env.get_current_time()
    calendar = calendar_for("eastern", closed_days(range(now.year, now.year + 2)))
    day = now.astimezone(eastern).date()
    while True:
        day += timedelta(days=1)
        if calendar.is_business_day(day):
            nine = datetime.combine(day, time(9, 0), tzinfo=eastern)
            await env.sleep(nine - timedelta(seconds=10) - now)
            return nine


async def restricted(r: Recorder) -> None:
    """U2-U6: waits for business hours, restricted routing to L3, approval, PR with logs."""
    nine = await before_business_hours(r.env)
    case_id = await r.open(
        "restricted",
        account_id="cyberdyne",
        contact_id="cyberdyne-judy",
        priority="P3",
        description="IPsec tunnel to an enclave drops",
    )
    await r.until(case_id, lambda v: any(e.kind == "waiting_for_business_hours" for e in v.feed))
    await r.env.sleep(nine + timedelta(seconds=1) - await r.env.get_current_time())
    view = await r.until(case_id, lambda v: v.state == "in_progress")
    await r.act(case_id, "respond", actor=owner_of(view), text="Looking at it")
    with acting(Principal(id="cc-dana", via="api-key")):
        await r.case(case_id).execute_update("read", {"viewer": "cc-dana"}, result_type=CaseView)
    for level in ("L1", "L2", "L3"):
        await r.act(case_id, "escalate", actor=owner_of(view), reason=f"needs {level}")
        view = await r.until(case_id, at_level(level))
    owner = owner_of(view)
    await r.act(
        case_id, "attach", actor="cyberdyne-judy", name="ike.log", sha256=STORED_SHA, size=9
    )
    await r.act(case_id, "attach", actor=owner, name="crash.log", sha256=STORED_SHA, size=5)
    await r.act(case_id, "request_log_approval", actor=owner, logs=["att-1"], note="IKE only")
    await r.refused(case_id, "approve_logs", {"actor": "cyberdyne-judy"})
    await r.refused(case_id, "file_problem_report", {"actor": owner, "summary": "too early"})
    await r.act(case_id, "approve_logs", actor="cyberdyne-ivan")
    result = await r.act(case_id, "file_problem_report", actor=owner, summary="IKE rekey bug")
    assert "shared under" in result.message, result.message
    await r.act(case_id, "resolve", actor=owner, resolution="fixed in 7.4.5")
    await r.act(case_id, "close", actor="cyberdyne-judy")
    await r.finished("restricted", case_id)


async def declined(r: Recorder) -> None:
    """U3/U6: a phone case; the customer declines; the PR goes without logs."""
    case_id = await r.open(
        "declined",
        channel="phone",
        received_by="cc-dana",
        account_id="cyberdyne",
        contact_id="cyberdyne-ivan",
        priority="P3",
        description="VPN drops",
    )
    view = await r.until(case_id, lambda v: v.state == "in_progress")
    await r.act(case_id, "respond", actor=owner_of(view), text="Looking at it")
    for level in ("L1", "L2", "L3"):
        await r.act(case_id, "escalate", actor=owner_of(view), reason=f"needs {level}")
        view = await r.until(case_id, at_level(level))
    owner = owner_of(view)
    await r.act(
        case_id, "attach", actor="cyberdyne-ivan", name="ike.log", sha256=STORED_SHA, size=9
    )
    await r.act(case_id, "request_log_approval", actor=owner, logs=["att-1"])
    await r.act(case_id, "decline_logs", actor="cyberdyne-ivan", reason="classified")
    result = await r.act(case_id, "file_problem_report", actor=owner, summary="IKE rekey bug")
    assert "without logs" in result.message, result.message
    await r.act(case_id, "close", actor="cyberdyne-ivan")
    await r.finished("declined", case_id)


async def partner(r: Recorder) -> None:
    """P3/P4: the partner works L0-L2, escalates to our L3, we ask it for information, and our
    resolution returns to the partner case, which the partner resolves and its customer closes."""
    case_id = await r.open(
        "partner",
        channel="partner",
        partner_id="northwind-it",
        account_id="soylent",
        contact_id="soylent-sam",
        priority="P2",
    )
    view = await r.until(case_id, lambda v: v.state == "in_progress")
    await r.act(case_id, "respond", actor=owner_of(view), text="Looking at it")
    for level in ("L1", "L2"):
        await r.act(case_id, "escalate", actor=owner_of(view), reason=f"needs {level}")
        view = await r.until(case_id, at_level(level))
    await r.act(case_id, "escalate", actor=owner_of(view), reason="a heartbeat bug")
    escalation = f"{case_id}-esc-1"
    ours = await r.until(escalation, lambda v: v.state == "in_progress")
    await r.act(
        escalation, "request_info", actor=owner_of(ours), items=["configuration"], text="HA"
    )
    await r.act(case_id, "comment", actor=owner_of(view), text="HA config uploaded")
    await r.until(escalation, lambda v: v.state == "in_progress")
    await r.act(escalation, "resolve", actor=owner_of(ours), resolution="fixed in 7.4.4")
    await r.finished("partner-esc", escalation, kind="")
    await r.until(case_id, lambda v: v.state == "in_progress")
    await r.act(case_id, "resolve", actor=owner_of(view), resolution="upgrade to 7.4.4")
    await r.act(case_id, "close", actor="soylent-sam", reason="thanks")
    await r.finished("partner", case_id)


async def escalated(r: Recorder) -> None:
    """E3/A5: a security issue starts at L2; Escalate Now; the manager on duty does not
    acknowledge within the window (2 s here), the next one does and de-escalates."""
    case_id = await r.open("escalated", category="security_vulnerability", priority="P3")
    view = await r.until(case_id, at_level("L2"))
    await r.act(case_id, "respond", actor=owner_of(view), text="Looking at it")
    result = await r.act(
        case_id, "escalate_now", actor="acme-alice", reason="lack_of_progress", note="down"
    )
    assert result.escalation_manager, result
    view = await r.until(case_id, lambda v: bool(v.escalations) and v.escalations[-1].step > 0)
    manager = view.escalations[-1].ladder[view.escalations[-1].step].id
    await r.act(case_id, "acknowledge_escalation", actor=manager)
    await r.act(case_id, "de_escalate", actor=manager, note="new engineer on it")
    await r.act(case_id, "resolve", actor=owner_of(view), resolution="signature update")
    await r.act(case_id, "close", actor="acme-alice", reason="thanks")
    await r.finished("escalated", case_id)


async def controls(r: Recorder) -> None:
    """Issue 24: control characters. An update that carries one is refused by its validator
    (nothing enters history); by the `act` signal it is refused on the feed; line breaks and
    tabs in a text are taken. Opened as `casework up` opens (no intake workflow)."""
    request = OpenCaseRequest.model_validate(
        {
            "request_id": f"controls-{uuid.uuid4().hex[:8]}",
            "channel": "web",
            "account_id": "acme",
            "contact_id": "acme-alice",
            "product": "FortiGate",
            "version": "7.4.3",
            "priority": "P2",
            "description": "HA fails over\r\nevery few minutes\tsince 7.4.3",
        }
    )
    opened = await r.opener(request, CASE_OPTIONS)
    case_id = opened.case_id
    assert case_id is not None
    view = await r.until(case_id, lambda v: v.state == "in_progress")
    owner = owner_of(view)
    await r.act(case_id, "respond", actor=owner, text="Looking\tat it")
    await r.refused(case_id, "comment", {"actor": "acme-alice", "text": "red \x1b[31mERR"})
    with acting(Principal(id="acme-bob", via="api-key")):
        act = r.case(case_id).signal
        await act("act", {"action": "comment", "actor": "acme-bob", "text": "bell\x07 here"})
        await act("act", {"action": "change_priority", "priority": "P3", "reason": "less\nnow"})
        await act("act", {"action": "comment", "actor": "acme-bob", "text": "two\r\nlines"})
    view = await r.until(case_id, lambda v: v.feed[-1].text == "two\r\nlines")
    refused = [e.kind for e in view.feed if e.refused]
    assert refused == ["comment", "change_priority"], refused
    await r.act(case_id, "resolve", actor=owner, resolution="fixed in 7.4.4\nupgrade both")
    await r.act(case_id, "close", actor="acme-alice", reason="thanks")
    await r.finished("controls", case_id)


async def firstword(r: Recorder) -> None:
    """S2 (issue 26): the owner's first word to the customer is a request for information,
    which stops the clock; the customer answers, the owner
    resolves, the customer closes. Opened as `casework up` opens (no intake workflow)."""
    request = OpenCaseRequest.model_validate(
        {
            "request_id": f"firstword-{uuid.uuid4().hex[:8]}",
            "channel": "web",
            "account_id": "acme",
            "contact_id": "acme-alice",
            "product": "FortiGate",
            "version": "7.4.3",
            "priority": "P2",
            "description": "HA cluster fails over every few minutes",
        }
    )
    opened = await r.opener(request, CASE_OPTIONS)
    case_id = opened.case_id
    assert case_id is not None
    view = await r.until(case_id, lambda v: v.state == "in_progress")
    owner = owner_of(view)
    asked = await r.act(case_id, "request_info", actor=owner, items=["logs"], text="HA log?")
    assert "the SLA clock stopped" in asked.message, asked.message
    await r.act(case_id, "provide_info", actor="acme-alice", text="uploaded")
    await r.act(case_id, "resolve", actor=owner, resolution="fixed in 7.4.4")
    await r.act(case_id, "close", actor="acme-alice", reason="thanks")
    await r.finished("firstword", case_id)


async def relay(r: Recorder) -> None:
    """Issue 14/27: the relay's first run (a round on each lane, then continue-as-new), on a
    worker of its own with an empty outbox, so that no round sends anything."""
    store = Store(f"sqlite:///{r.tmp}/relay.db", TEST_RING)
    task_queue = f"record-relay-{uuid.uuid4().hex[:8]}"
    activities = activities_for(store, POLICY, relay=RelayConfig())
    try:
        async with build_worker(
            r.env.client, task_queue=task_queue, activities=activities, ring=TEST_RING
        ):
            handle = await r.client.start_workflow(
                RELAY_WORKFLOW,
                RelayState(rounds_per_run=2),
                id=relay_id(task_queue),
                task_queue=task_queue,
                start_signal=WAKE,
            )
            first = r.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
            for _ in range(400):
                if (await first.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW:
                    break
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError("the relay never continued as new")
            await r.save("relay-run1", first)
            await r.client.get_workflow_handle(handle.id).terminate("recorded")
    finally:
        store.dispose()


SCENARIOS = {
    "restricted": restricted,
    "declined": declined,
    "partner": partner,
    "escalated": escalated,
    "ladder": ladder,
    "breach": breach,
    "refusals": refusals,
    "controls": controls,
    "firstword": firstword,
    "relay": relay,
}
"""In recording order: time skipping (env.sleep) hangs once a case has completed (a test server
bug, see tests/conftest.py), so the scenarios that sleep come first."""
