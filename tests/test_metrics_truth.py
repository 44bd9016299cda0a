"""Every gauge is true at every moment (issue 27): what each casework gauge says, against the
truth from the cases themselves (each one's Case Detail, what `show` prints) and from the
outbox and its deliveries (what `casework outbox` reads), before and after the cases close.

Three cases: two GOLD P1 left unanswered past their target (breached, S3) and one PLATINUM P3
answered in time; the relay delivers their mail and fails, for good, the chat of the GOLD
contact (a 404). Then the cases close one by one: the case gauges go down with them, and none
counts a closed case (`casework_cases_awaiting_first_response_past_target` did: issue 27).
Run with `-s` to see the truth table."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.relay import RelayActivities
from casework.metrics import StoreCollector
from casework.notify.contracts import LANES, DeliveryReport, DeliveryRound
from casework.store import Store
from casework.store.base import aware
from casework.store.tables import deliveries
from tests import receivers
from tests.conftest import Desk
from tests.receivers import Receiver, Sink
from tests.test_case_sla import GOLD, PLATINUM, breached, open_assigned, skip_to
from tests.test_notify_relay import config, directory_with

receiver, smtp_sink = receivers.receiver, receivers.smtp_sink  # the fixtures

GAUGES = (
    "casework_open_cases",
    "casework_cases_awaiting_first_response_past_target",
    "casework_notifications_pending",
    "casework_notifications_failed",
    *(f"casework_deliveries_pending:{lane}" for lane in LANES),
    *(f"casework_deliveries_dead:{lane}" for lane in LANES),
    *(f"casework_relay_lag_seconds:{lane}" for lane in (*LANES, "unplanned")),
)


def gauges(store: Store, now: datetime) -> dict[str, float]:
    """What each gauge says at `now` (the test server's clock: the cases' times are its)."""
    said: dict[str, float] = {}
    for family in StoreCollector(store, now=lambda: now).collect():
        for sample in family.samples:
            lane = sample.labels.get("lane")
            name = f"{sample.name}:{lane}" if lane else sample.name
            said[name] = said.get(name, 0.0) + sample.value
    return {name: said.get(name, 0.0) for name in GAUGES}


async def truth(desk: Desk, store: Store, now: datetime) -> dict[str, float]:
    """The same numbers from their sources: the cases' views, the outbox, the deliveries."""
    views = [await desk.view(case_id) for case_id in desk.opened]
    still_open = [v for v in views if v.state != "closed"]
    rows = [aware(r) for r in store.outbox.rows()]
    with store.engine.connect() as conn:
        channels = [aware(dict(r)) for r in conn.execute(deliveries.select()).mappings()]
    by_row = {r["id"]: r for r in rows}
    known: dict[str, float] = {
        "casework_open_cases": sum(1 for v in still_open if v.owner is not None),
        "casework_cases_awaiting_first_response_past_target": sum(
            1 for v in still_open if v.sla.breached_at and not v.sla.responded_at
        ),
        "casework_notifications_pending": sum(1 for r in rows if r["status"] == "pending"),
        "casework_notifications_failed": sum(1 for r in rows if r["status"] == "dead"),
    }
    for lane in LANES:
        mine = [c for c in channels if c["channel"] == lane]
        known[f"casework_deliveries_pending:{lane}"] = sum(c["status"] == "pending" for c in mine)
        known[f"casework_deliveries_dead:{lane}"] = sum(c["status"] == "dead" for c in mine)
        waiting = [
            now - (c["next_attempt_at"] or by_row[c["outbox_id"]]["created_at"])
            for c in mine
            if c["status"] == "pending" and by_row[c["outbox_id"]]["status"] == "pending"
        ]
        due = [w.total_seconds() for w in waiting if w >= timedelta(0)]
        known[f"casework_relay_lag_seconds:{lane}"] = max(due, default=0.0)
    planned = {c["outbox_id"] for c in channels}
    unplanned = [
        (now - r["created_at"]).total_seconds()
        for r in rows
        if r["status"] == "pending" and r["id"] not in planned and r["created_at"] <= now
    ]
    known["casework_relay_lag_seconds:unplanned"] = max(unplanned, default=0.0)
    return known


async def relay_rounds(store: Store, sink: Sink) -> DeliveryReport:
    """Rounds of every lane until nothing is due (the 404 chat is dead at once)."""
    relay = RelayActivities(store, config(sink))
    report: DeliveryReport = await ActivityEnvironment().run(relay.deliver_due, DeliveryRound())
    while report.full:
        report = await ActivityEnvironment().run(relay.deliver_due, DeliveryRound())
    return report


def table(steps: list[tuple[str, dict[str, float], dict[str, float]]]) -> str:
    header = f"{'gauge':<58}" + "".join(f"{name:>26}" for name, _, _ in steps)
    lines = [header, f"{'':<58}" + "".join(f"{'says / truth':>26}" for _ in steps)]
    for gauge in GAUGES:
        cells = "".join(f"{said[gauge]:>12.0f} / {known[gauge]:<11.0f}" for _, said, known in steps)
        lines.append(f"{gauge:<58}{cells}")
    return "\n".join(lines)


async def test_each_gauge_says_the_truth_before_and_after_its_cases_close(
    env: WorkflowEnvironment, desk: Desk, store: Store, smtp_sink: Sink, receiver: Receiver
) -> None:
    store.directory.replace(directory_with(**{"globex-carol": {"chat": receiver.url}}))
    receiver.fail_with = 404  # the GOLD contact's chat refuses for good: dead deliveries
    late = [await open_assigned(desk, priority="P1", **GOLD) for _ in range(2)]
    answered = await open_assigned(desk, priority="P3", **PLATINUM)
    owner = answered.owner.engineer_id if answered.owner else ""
    await desk.act(answered.case_id, "respond", actor=owner, text="Looking at it")
    await skip_to(env, max(v.sla.due_at for v in late) + timedelta(seconds=1))
    for view in late:
        await desk.until(view.case_id, breached)
    steps = []

    async def step(name: str) -> dict[str, float]:
        for case_id in desk.opened:
            await desk.settle(case_id)
        now = await env.get_current_time()
        said, known = gauges(store, now), await truth(desk, store, now)
        steps.append((name, said, known))
        assert said == known, f"{name}:\n{table(steps)}"
        return said

    before = await step("2 breached, 1 answered")
    assert before["casework_relay_lag_seconds:unplanned"] > 0, "nothing sent yet: it lags"
    await relay_rounds(store, smtp_sink)
    sent = await step("after the relay's round")
    assert sent["casework_notifications_failed"] > 0 and sent["casework_deliveries_dead:chat"] > 0
    assert sent["casework_relay_lag_seconds:unplanned"] == 0
    assert sent["casework_notifications_pending"] < before["casework_notifications_pending"]

    await desk.act(late[0].case_id, "close", actor="globex-carol", reason="found it ourselves")
    await desk.until(late[0].case_id, lambda v: v.state == "closed")
    one_closed = await step("a breached case closed")
    for view in (late[1], answered):
        contact = "globex-carol" if view.account_id == "globex" else "acme-alice"
        await desk.act(view.case_id, "close", actor=contact, reason="done")
        await desk.until(view.case_id, lambda v: v.state == "closed")
    await relay_rounds(store, smtp_sink)
    all_closed = await step("all closed")
    print("\n" + table(steps))

    awaiting = "casework_cases_awaiting_first_response_past_target"
    assert (before[awaiting], one_closed[awaiting], all_closed[awaiting]) == (2, 1, 0)
    assert before["casework_open_cases"] == 3 and one_closed["casework_open_cases"] == 2
    assert all_closed["casework_open_cases"] == 0
