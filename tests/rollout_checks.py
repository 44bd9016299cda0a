"""What the rollout of tests/rollout_scenario.py must leave true, as findings: a list of
problems (empty when all holds) and the figures the benchmark prints.

- every case workflow (and the relay) ends, its latest run, on version 2; each run ran on one
  version only (a run that moved from one version to the other would have replayed there);
- no workflow task failed with a nondeterminism error in any run of any case;
- every first-response timer fired once (one `sla_breached`, one breach alert) or never;
- the outbox holds exactly the notifications each case's feed says it sent: none lost, none
  doubled (`told`), and the relay delivered each one mail, once;
- the feed is intact across the runs (positions 0..n-1, what version 1 wrote unchanged) and
  the state each case carried into its version 2 run is the state it had.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from casework.domain.models import CaseView
from tests.conftest import TEST_RING
from tests.rollout_scenario import APPROVER, PARTNER, V1, V2, Case, Rollout
from tests.upgrade_v2_case import CaseWorkflowV2
from worker import WORKFLOW_RUNNER, workflow_interceptors
from workflows.case import CaseWorkflow

Told = tuple[str, str, str]
"""A notification: recipient kind, recipient id, subject."""


@dataclass
class Run:
    run_id: str
    events: list[HistoryEvent]

    def builds(self) -> set[str]:
        """The build ids of the workers that completed this run's workflow tasks."""
        return {
            e.workflow_task_completed_event_attributes.deployment_version.build_id
            for e in self.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        }

    def task_failures(self) -> list[str]:
        return [
            f"{WorkflowTaskFailedCause.Name(a.cause)}: {a.failure.message[:200]}"
            for e in self.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            for a in [e.workflow_task_failed_event_attributes]
        ]


async def runs_of(client: Client, workflow_id: str) -> list[Run]:
    """Every run of the workflow, oldest first, following each run's start back to the run it
    continued (exact, unlike a visibility query)."""
    runs: list[Run] = []
    run_id: str | None = None
    while True:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        events = [e async for e in handle.fetch_history_events()]
        started = events[0].workflow_execution_started_event_attributes
        runs.append(Run(run_id=run_id or (await handle.describe()).run_id, events=events))
        if not started.continued_execution_run_id:
            return runs[::-1]
        run_id = started.continued_execution_run_id


RACED_A_SIGNAL = WorkflowTaskFailedCause.Name(
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
)
"""The server's answer to a task that completes (or continues as new) the run while a signal
arrived meanwhile: the task is retried with the signal in it, nothing is lost (the relay is
woken by signals at any moment). Counted, not a problem."""


def nondeterministic(failure: str) -> bool:
    return "NON_DETERMINISTIC" in failure or "nondetermin" in failure.lower()


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def expect(self, holds: bool, problem: str) -> None:
        if not holds:
            self.problems.append(problem)


# --- versions and histories -------------------------------------------------------------------


async def check_runs(rollout: Rollout, findings: Findings) -> dict[str, list[Run]]:
    """Versions and task failures of every run of every case workflow and of the relay."""
    client = rollout.client
    every: dict[str, list[Run]] = {}
    relay = f"casework-relay-{rollout.queue}"
    failures = nondeterminism = 0
    causes: Counter[str] = Counter()
    for workflow_id in [*rollout.case_ids(), relay]:
        runs = every[workflow_id] = await runs_of(client, workflow_id)
        for run in runs:
            for failure in run.task_failures():
                failures += 1
                causes[failure.split(":")[0]] += 1
                nondeterminism += nondeterministic(failure)
                if not failure.startswith(RACED_A_SIGNAL):
                    findings.problems.append(f"{workflow_id} run {run.run_id[:8]}: {failure}")
            findings.expect(
                len(run.builds()) <= 1,
                f"{workflow_id} run {run.run_id[:8]} ran on several versions: {run.builds()}",
            )
        described = await client.get_workflow_handle(workflow_id).describe()
        info = described.raw_description.workflow_execution_info.versioning_info
        findings.expect(
            info.deployment_version.build_id == V2 and runs[-1].builds() <= {V2},
            f"{workflow_id} ends on {info.deployment_version.build_id or 'no version'} "
            f"(its last run's tasks: {runs[-1].builds()}), not {V2}",
        )
        if workflow_id != relay:
            findings.expect(
                runs[0].builds() == {V1},
                f"{workflow_id} began on {runs[0].builds()}, not {V1}",
            )
    moved = sorted(
        (_started(every[c][-1]) - rollout.timings.promoted_at).total_seconds()
        for c in rollout.case_ids()
        if rollout.timings.promoted_at is not None and len(every[c]) > 1
    )
    if moved:
        findings.figures["case_moved_after_promote_s"] = {
            "p50": round(moved[len(moved) // 2], 1),
            "p95": round(moved[int(len(moved) * 0.95)], 1),
            "max": round(moved[-1], 1),
        }
    findings.figures["task_failures"] = failures
    findings.figures["task_failures_by_cause"] = dict(causes)
    findings.figures["nondeterminism_errors"] = nondeterminism
    findings.figures["runs"] = sum(len(r) for r in every.values())
    return every


async def check_v2_is_incompatible(
    rollout: Rollout, runs: dict[str, list[Run]], converter: DataConverter, findings: Findings
) -> None:
    """The test would prove nothing if version 2 could replay version 1: replay a version 1
    run of each kind of case on both classes; version 1's replays, version 2's must not."""
    for kind in sorted({c.kind for c in rollout.cases}):
        case = next(c for c in rollout.cases if c.kind == kind)
        history = WorkflowHistory(case.case_id, runs[case.case_id][0].events)
        for workflow, replays in ((CaseWorkflow, True), (CaseWorkflowV2, False)):
            replayer = Replayer(
                workflows=[workflow],
                data_converter=converter,
                interceptors=workflow_interceptors(TEST_RING),
                workflow_runner=WORKFLOW_RUNNER,
                runtime=_quiet_runtime(),
            )
            result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
            failure = result.replay_failure
            if replays:
                findings.expect(failure is None, f"v1 does not replay {case.case_id}: {failure}")
            else:
                findings.expect(
                    isinstance(failure, NondeterminismError),
                    f"v2 replays v1's {case.case_id} ({failure!r}): the test proves nothing",
                )


@functools.cache
def _quiet_runtime() -> Runtime:
    """A runtime whose core logs errors only: the expected failures of version 2's replays
    would otherwise print a warning each."""
    quiet = LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
    return Runtime(telemetry=TelemetryConfig(logging=quiet))


# --- timers, feed, outbox ---------------------------------------------------------------------


def check_timers(rollout: Rollout, runs: dict[str, list[Run]], findings: Findings) -> None:
    """S3: the armed cases breached once, after the promotion; nobody else breached. E3: each
    ladder step was alerted once."""
    promoted = rollout.timings.promoted_at
    after_promotion = after_v1 = on_v2 = breached = 0
    for case_id, case in rollout.case_by_id().items():
        feed = rollout.store.feed.page(case_id, limit=1000)
        breaches = [e for e in feed if e["kind"] == "sla_breached"]
        findings.expect(
            len(breaches) == (1 if case.kind == "armed" else 0),
            f"{case_id} ({case.kind}) breached {len(breaches)} times",
        )
        for breach in breaches:
            breached += 1
            at = _aware(breach["at"])
            after_promotion += promoted is not None and at >= promoted
            stopped = rollout.timings.v1_stopped_at
            after_v1 += stopped is not None and at >= stopped
            on_v2 += at >= _started(runs[case_id][-1])
        steps = Counter(e["text"] for e in feed if e["kind"] == "escalation_passed_on")
        findings.expect(
            max(steps.values(), default=1) == 1, f"{case_id}: a ladder step twice: {steps}"
        )
        keys = [
            n["idempotency_key"]
            for n in rollout.store.outbox.rows(case_id)
            if n["recipient_kind"] == "escalation_manager"
        ]
        findings.expect(len(keys) == len(set(keys)), f"{case_id}: an alert twice: {keys}")
    armed = len(rollout.of_kind("armed"))
    findings.figures["breaches"] = breached
    findings.figures["breaches_after_promotion"] = after_promotion
    findings.figures["breaches_after_v1_stopped"] = after_v1
    findings.figures["breaches_on_v2"] = on_v2
    findings.expect(
        after_promotion == armed,
        f"only {after_promotion} of {armed} first-response timers fired after the promotion: "
        "the machine is slower than BREACH_AFTER allows (CASEWORK_TEST_TIME_SCALE)",
    )


def told(case: Case | None, case_id: str, feed: Iterable[dict[str, Any]]) -> Counter[Told]:
    """What a case's feed says it notified, entry by entry (workflows/case/*.py `notify`)."""
    contact = ("partner", PARTNER) if case is None else ("contact", case.contact)
    owner, said, vendor_solved = "", Counter[Told](), set()
    for entry in feed:
        kind, text = entry["kind"], entry["text"]
        if entry["refused"]:
            continue  # a refusal changes nothing and tells nobody
        ident = text.split(":")[0].split()[0] if text else ""
        if kind == "opened":
            said[(*contact, f"{case_id} opened")] += 1
        elif kind == "routed_to_us_citizen":
            said[(*contact, f"{case_id} is with US Citizen Support")] += 1
        elif kind == "assigned":
            owner = _ids(text)[0]
            said[("engineer", owner, f"{case_id} assigned to you")] += 1
        elif kind == "respond" or (kind == "first_response" and "the first word" not in text):
            said[(*contact, f"Update on {case_id}")] += 1
        elif kind in ("escalate_now", "escalated"):
            manager = re.findall(r"\(([\w-]+)\) is alerted", text)[0]
            said[("escalation_manager", manager, f"Escalation {ident} on {case_id}")] += 1
            said[(*contact, f"{case_id} escalated ({ident})")] += 1
        elif kind == "escalation_passed_on":
            manager = _ids(text)[-1]
            said[("escalation_manager", manager, f"Escalation {ident} on {case_id}")] += 1
        elif kind == "acknowledge_escalation":
            name = text.split("acknowledged by ")[1].split(";")[0]
            said[(*contact, f"{case_id}: {name} has your escalation")] += 1
        elif kind == "comment":
            to_owner = entry["actor"] != owner
            recipient = ("engineer", owner) if to_owner else contact
            said[(*recipient, f"Comment on {case_id}")] += 1
        elif kind == "resolve":
            said[(*contact, f"{case_id} resolved")] += 1
        elif kind == "close" and owner:
            said[("engineer", owner, f"{case_id} closed")] += 1
        elif kind == "request_log_approval":
            subject = f"{case_id}: may we share logs with engineering? ({ident})"
            said[("contact", APPROVER, subject)] += 1
        elif kind == "approve_logs":
            said[("engineer", owner, f"{case_id}: logs approved")] += 1
        elif kind == "file_problem_report":
            said[(*contact, f"{case_id} linked to {ident}")] += 1
        elif kind in ("vendor_resolve", "vendor_close") and ident not in vendor_solved:
            vendor_solved.add(ident)
            said[("engineer", owner, f"{case_id}: the vendor solved the escalation")] += 1
        elif kind not in SILENT:
            said[("?", kind, f"no rule for feed entries of kind {kind!r}")] += 1
    return said


SILENT = {
    "escalate",
    "vendor_assigned",
    "vendor_first_response",
    "vendor_resolve",
    "vendor_close",
    "first_response",
    "sla_breached",
    "escalation_ended",
    "escalation_unacknowledged",
    "waiting_for_business_hours",
    "waiting_in_queue",
    "continued",
    "attached",
    "logs_shared",
    "close",
}
"""Feed entries that notify nobody (a `close` with no owner, a second word from the vendor, the
end of a ladder nobody acknowledged)."""


def _ids(text: str) -> list[str]:
    """The person ids a feed text names in parentheses: "Dana Park (cc-dana), L0"."""
    return re.findall(r"\(([a-z][\w-]*)\)", text)


def check_outbox(rollout: Rollout, findings: Findings) -> None:
    """The outbox against the feed, case by case: each notification the feed implies, once."""
    rows = 0
    for case_id, case in rollout.case_by_id().items():
        feed = rollout.store.feed.page(case_id, limit=1000)
        expected = told(None if case.vendor_escalation == case_id else case, case_id, feed)
        outbox = rollout.store.outbox.rows(case_id)
        rows += len(outbox)
        queued = Counter((n["recipient_kind"], n["recipient_id"], n["subject"]) for n in outbox)
        lost, doubled = expected - queued, queued - expected
        findings.expect(not lost, f"{case_id}: notifications lost: {dict(lost)}")
        findings.expect(not doubled, f"{case_id}: notifications doubled or unexplained: {doubled}")
    findings.figures["notifications"] = rows


def check_mail(rollout: Rollout, mail: Path, findings: Findings) -> None:
    """The relay (on version 1, then version 2) delivered each row: one mail per key."""
    keys = Counter(
        str(message_from_bytes(p.read_bytes(), policy=policy.default).get("X-Casework-Key", ""))
        for p in mail.glob("*.eml")
    )
    ours = {
        n["idempotency_key"]: n
        for case_id in rollout.case_ids()
        for n in rollout.store.outbox.rows(case_id)
    }
    undelivered = [k for k, n in ours.items() if n["status"] != "delivered"]
    findings.expect(
        not undelivered, f"{len(undelivered)} notifications undelivered: {undelivered[:5]}"
    )
    twice = {k: c for k, c in keys.items() if k in ours and c > 1}
    findings.expect(not twice, f"mailed more than once: {twice}")
    findings.figures["mails"] = sum(c for k, c in keys.items() if k in ours)


def check_feeds(
    rollout: Rollout,
    before: dict[str, list[dict[str, Any]]],
    runs: dict[str, list[Run]],
    findings: Findings,
) -> None:
    """The feed survives the runs: positions 0..n-1, each once; what version 1 wrote is still
    there as written; one `continued` entry per roll-over."""
    for case_id in rollout.case_ids():
        feed = rollout.store.feed.page(case_id, limit=1000)
        findings.expect(
            [e["seq"] for e in feed] == list(range(len(feed))),
            f"{case_id}: feed positions {[e['seq'] for e in feed]}",
        )
        old = before[case_id]
        findings.expect(
            [_entry(e) for e in feed[: len(old)]] == [_entry(e) for e in old],
            f"{case_id}: the feed version 1 wrote changed",
        )
        continued = sum(1 for e in feed if e["kind"] == "continued")
        findings.expect(
            continued == len(runs[case_id]) - 1,
            f"{case_id}: {continued} `continued` entries for {len(runs[case_id])} runs",
        )


def check_comments(rollout: Rollout, findings: Findings) -> None:
    """Each comment a case accepted while it rolled over is on its feed once, in order."""
    straddled = 0
    for case_id, said in rollout.comments.items():
        feed = rollout.store.feed.page(case_id, limit=1000)
        kept = [e["text"] for e in feed if e["kind"] == "comment" and not e["refused"]]
        findings.expect(kept == said, f"{case_id}: comments accepted {said}, on its feed {kept}")
        kinds = [e["kind"] for e in feed]
        rolled = kinds.index("continued") if "continued" in kinds else len(kinds)
        straddled += "comment" in kinds[:rolled] and "comment" in kinds[rolled:]
    findings.figures["roll_overs_mid_chatter"] = straddled
    findings.expect(
        straddled == len(rollout.comments),
        f"only {straddled} of {len(rollout.comments)} cases rolled over while their customer "
        "was commenting: the chatter did not overlap the roll-overs",
    )


def _entry(e: dict[str, Any]) -> tuple[Any, ...]:
    return (e["seq"], e["actor"], e["kind"], e["text"], e["refused"])


def carried(view: CaseView) -> dict[str, Any]:
    """What a case carries into its next run, as its view shows it (the breach and its
    escalation excepted: an armed case's timer may fire between two looks)."""
    return {
        "state": view.state,
        "level": view.level,
        "owner": view.owner.engineer_id if view.owner else None,
        "priority": view.priority,
        "queue": view.queue,
        "opened_at": view.opened_at,
        "due_at": view.sla.due_at,
        "responded_at": view.sla.responded_at,
        "escalations": [
            (e.escalation_id, e.raised_at, e.acknowledged_by)
            for e in view.escalations
            if e.channel != "sla_breach"
        ],
        "attachments": [(a.id, a.name, a.sha256) for a in view.attachments],
        "log_approvals": [
            (a.request_id, a.status, a.logs, a.expires_at) for a in view.log_approvals
        ],
        "vendor_escalations": [(v.escalation_id, v.status) for v in view.vendor_escalations],
        "problem_report": view.problem_report,
        "escalated_from": view.escalated_from,
    }


def check_carried(
    before: dict[str, CaseView], after: dict[str, CaseView], findings: Findings
) -> None:
    for case_id, view in before.items():
        was, now = carried(view), carried(after[case_id])
        changed = {k: (was[k], now[k]) for k in was if was[k] != now[k]}
        findings.expect(not changed, f"{case_id} did not carry its state: {changed}")
        findings.expect(
            after[case_id].feed_total >= view.feed_total,
            f"{case_id}: feed total fell from {view.feed_total} to {after[case_id].feed_total}",
        )


def _started(run: Run) -> datetime:
    return run.events[0].event_time.ToDatetime(tzinfo=UTC)


def _aware(at: Any) -> datetime:
    value = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def check_all(
    rollout: Rollout,
    converter: DataConverter,
    before_feeds: dict[str, list[dict[str, Any]]],
    before_views: dict[str, CaseView],
    after_views: dict[str, CaseView],
) -> Findings:
    """Every check above, once the cases are driven on and their notifications delivered."""
    findings = Findings()
    runs = await check_runs(rollout, findings)
    await check_v2_is_incompatible(rollout, runs, converter, findings)
    check_timers(rollout, runs, findings)
    check_outbox(rollout, findings)
    check_mail(rollout, rollout.mail, findings)
    check_feeds(rollout, before_feeds, runs, findings)
    check_carried(before_views, after_views, findings)
    check_comments(rollout, findings)
    return findings


@dataclass
class Outcome:
    """What the operator saw at each step, and the findings at the end."""

    v1_before: dict[str, Any]
    promoted: dict[str, Any]
    v1_drained: dict[str, Any]
    versions_after: list[dict[str, Any]]
    findings: Findings


async def upgrade(rollout: Rollout, converter: DataConverter, drain_timeout: float) -> Outcome:
    """The whole rollout: version 1 with the cases, version 2 promoted, version 1 drained and
    stopped, the cases driven on; then every check. The caller stops what `rollout` started."""
    await rollout.start_worker(V1)
    await rollout.open_mix()
    cases = len(rollout.case_ids())
    before_feeds = {c: rollout.store.feed.page(c, limit=1000) for c in rollout.case_ids()}
    before_views = await rollout.views()
    v1_before = await rollout.version_until(V1, lambda r: r["open_cases"] == cases)

    await rollout.start_worker(V2)
    stop = asyncio.Event()
    chatter = asyncio.ensure_future(rollout.chatter(stop))
    try:
        promoted = await rollout.promote(V2)
        v1_drained = await rollout.until_may_shut_down(V1, timeout=drain_timeout)
    finally:
        stop.set()
        await chatter
    rollout.stop_v1()

    after_views = await rollout.views()  # answered by version 2 alone
    await rollout.drive_on()
    await rollout.until_delivered()
    findings = await check_all(rollout, converter, before_feeds, before_views, after_views)
    findings.figures.update(rollout.figures())
    return Outcome(v1_before, promoted, v1_drained, await rollout.versions(), findings)
