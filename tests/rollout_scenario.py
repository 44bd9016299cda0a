"""The 200-case rollout of issue 28, from the outside: shared by tests/test_upgrade_rollout.py
(which asserts) and benchmarks/upgrade_rollout.py (which prints the figures).

Version 1 is `casework worker` as shipped; version 2 is the same worker whose `Case` workflow
begins with an extra timer (tests/upgrade_v2_case.py), so it cannot replay a single version 1
history. Both are processes of their own on one task queue and one database, registered as
two build ids of one worker deployment (CASEWORK_DEPLOYMENT_NAME, CASEWORK_BUILD_ID). The
operator's steps are the CLI's: `casework versions promote BUILD`, then `casework versions`
until version 1 may be shut down.

The cases, opened on version 1 and left mid-life (`MIX`):

- armed: unanswered P1 cases whose first-response timer (BREACH_AFTER, S1/S5) fires after the
  upgrade; the breach climbs the Escalation Manager ladder (S3), then the customer closes;
- answered: P1 cases whose owner answered (the clock stopped, S2); half are resolved and closed
  after the upgrade;
- ladder: Escalate Now by the customer (E3): the ladder's timer (ACK_WITHIN) is armed; after the
  upgrade half are acknowledged at once, half only once the ladder passed them on;
- log_sharing: a US Citizen Support case at L3 with a request to share a log with engineering
  waiting on the customer (U6); after the upgrade the approver approves and the owner files the
  Problem Report with the log. It needs an engineer, so business hours (U4): the account's zone
  is one where the service is open now (tests/business_hours_zone.py); on Saturday evening and
  Sunday morning UTC, when none can be, these cases are opened anyway and wait in the queue for
  the window to open (`Rollout.log_sharing_zone` None);
- partner: a partner case escalated by the partner's L2 to our L3 (P4): a second case
  workflow, the vendor escalation; after the upgrade our L3 resolves it, the resolution returns
  to the partner case, which the partner resolves and its customer closes.

While version 2 is promoted and the cases roll over, the customers of CHATTER_CASES answered
cases keep commenting (`chatter`): an action arrives before, during and after each roll-over.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError

from casework.attachments import AttachmentStore
from casework.domain.actions import ActionResult
from casework.domain.models import CaseView
from casework.domain.sla import policy_with
from casework.notify.sink import start_sink
from casework.store import Store
from casework.store.tables import case_rows
from casework.yamlfiles import dump_text
from tests.business_hours_zone import OpenZone, open_zone_now
from tests.conftest import (
    SETTLE_TIMEOUT,
    STORED_FILES,
    STORED_SHA,
    TEST_RING,
    TIME_SCALE,
    Desk,
    as_person,
    eventually,
    signed,
)
from tests.waiting import source_of
from tests.worker_processes import TEST_KEYRING, WorkerProcess, casework_program, until_polling

MIX = {"armed": 80, "answered": 60, "ladder": 40, "log_sharing": 10, "partner": 10}
"""Cases opened on version 1, by what they are doing when version 2 is promoted (200)."""
BREACH_AFTER = timedelta(seconds=90 * TIME_SCALE)
"""S5: the P1 target of the test's policy, for the armed cases (opened last, so their timers
fire after the promotion and the drain)."""
ACK_WITHIN = timedelta(seconds=60 * TIME_SCALE)
"""E3: the test's acknowledgement window of the Escalation Manager ladder."""
IN_FLIGHT = 12
"""Cases being opened or worked at once, as a door's callers would."""
CHATTER_CASES = 10
"""Answered cases whose customer keeps commenting while version 2 is promoted and the cases
roll over: an action may arrive at any moment of a roll-over and must land exactly once."""
CHATTER_AFTER = 3
"""Comments each such customer sends after their case has rolled over, then stops..."""
CHATTER_MAX = 200
"""...or at this many, or once version 1 has drained."""
ROLLING_OVER = "rolling its history over"
"""The refusal of an action that arrives while a case holds all it may carry across a
roll-over (workflows/case/workflow.py `_take`): nothing changed, send it again."""
PARTNER = "northwind-it"
V1, V2 = "1.0-v1", "2.0-v2"
"""The build ids of the two versions."""
V2_WORKER = [sys.executable, "-m", "tests.upgrade_v2_worker"]
"""`casework worker` with version 2's Case workflow."""
CLI_TIMEOUT = 120.0 * TIME_SCALE
VERSIONS_EVERY = 1.0
"""Seconds between two `casework versions` while waiting on what it says (each is a process
that takes about half a second)."""

CONTACTS = {
    "acme": "acme-alice",
    "globex": "globex-carol",
    "cyberdyne": "cyberdyne-judy",
    "soylent": "soylent-sam",
}
APPROVER = "cyberdyne-ivan"


def rollout_policy() -> str:
    """S5: our targets with P1 at BREACH_AFTER (the others hours, never reached in a run), the
    ladder's window at ACK_WITHIN; routing retried every 5 s."""
    seconds = f"{int(BREACH_AFTER.total_seconds())}s"
    policy = policy_with(
        {"GOLD": {"P1": seconds}, "PLATINUM": {"P1": seconds}},
        escalation_acknowledge_within=f"{int(ACK_WITHIN.total_seconds())}s",
        routing_retry="5s",
    )
    return dump_text(policy.model_dump(mode="json", exclude_none=True))


@dataclass
class Case:
    """One case of the mix and what the scenario knows of it."""

    case_id: str
    kind: str
    n: int
    contact: str
    owner: str | None = None
    vendor_escalation: str | None = None
    """P4: the vendor escalation's case id (a case workflow of its own)."""


@dataclass
class Timings:
    opened_s: float = 0.0
    promote_s: float = 0.0
    drain_s: float = 0.0
    drive_on_s: float = 0.0
    promote_started: float = 0.0
    promoted_at: datetime | None = None
    v1_stopped_at: datetime | None = None


@dataclass
class Rollout:
    """The scenario against one dev server (`client`), one database (`store`, `db_url`), in
    `folder` (the workers' state folders and logs)."""

    client: Client
    store: Store
    db_url: str
    folder: Path
    mix: dict[str, int] = field(default_factory=lambda: dict(MIX))
    queue: str = field(default_factory=lambda: f"rollout-{uuid.uuid4().hex[:8]}")
    deployment: str = field(default_factory=lambda: f"casework-rollout-{uuid.uuid4().hex[:6]}")
    cases: list[Case] = field(default_factory=list)
    workers: dict[str, WorkerProcess] = field(default_factory=dict)
    timings: Timings = field(default_factory=Timings)
    log_sharing_zone: OpenZone | None = None
    comments: dict[str, list[str]] = field(default_factory=dict)
    """The chatter's comments each case accepted, in order."""
    resent: int = 0
    """Comments refused while their case rolled over, and sent again."""
    unanswered: int = 0
    """Comments the server did not answer in time, sent again under the same update id."""

    def __post_init__(self) -> None:
        self.desk = Desk(signed(self.client), self.queue, {})
        self.policy = self.folder / "policy.yaml"
        self.policy.write_text(rollout_policy())
        self.address = self.client.service_client.config.target_host
        self.log_sharing_zone = open_zone_now(self.folder)
        """U4: where the log-sharing cases' customer is, so an engineer works them now."""
        self.mail = self.folder / "mail"
        self.sink, self.smtp_port = start_sink(self.mail)
        """The mailbox every worker's relay sends to (casework up's sink)."""

    # --- the workers and the operator's commands ------------------------------------------

    def env(self, build_id: str) -> dict[str, str]:
        return {
            "CASEWORK_DEPLOYMENT_NAME": self.deployment,
            "CASEWORK_BUILD_ID": build_id,
            "CASEWORK_WORKER_VERSIONING": "true",
            "CASEWORK_SMTP_HOST": "127.0.0.1",
            "CASEWORK_SMTP_PORT": str(self.smtp_port),
            **(self.log_sharing_zone.env() if self.log_sharing_zone else {}),
        }

    async def start_worker(self, build_id: str) -> WorkerProcess:
        """A worker of `build_id` (version 2's runs tests/upgrade_v2_worker.py), with the
        test's files in its attachment store, polling before this returns."""
        name = f"worker-{build_id}"
        attachments = AttachmentStore(self.folder / f"state-{name}" / "attachments", TEST_RING)
        upload = self.folder / "upload"
        for content in STORED_FILES:
            upload.write_bytes(content)
            attachments.put(upload)
        worker = WorkerProcess.start(
            name,
            folder=self.folder,
            temporal=self.address,
            task_queue=self.queue,
            db_url=self.db_url,
            policy=self.policy,
            extra_env=self.env(build_id),
            program=V2_WORKER if build_id == V2 else None,
        )
        self.workers[build_id] = worker
        await until_polling(self.client, self.queue, [worker])
        return worker

    async def casework(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`casework ARGS` as the operator runs it against this deployment."""
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": self.address,
            "TEMPORAL_NAMESPACE": "default",
            "CASEWORK_DB_URL": self.db_url,
            "CASEWORK_TASK_QUEUE": self.queue,
            "CASEWORK_KEYRING_FILE": str(TEST_KEYRING),
            "CASEWORK_STATE_DIR": str(self.folder / "state-operator"),
            **self.env(V1),
        }
        env.pop("CASEWORK_BUILD_ID")  # the operator names builds on the command line
        return await asyncio.to_thread(
            subprocess.run,
            [*casework_program(), *args],
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            env=env,
        )

    async def versions(self) -> list[dict[str, Any]]:
        """`casework versions --json`: one row per version of the deployment."""
        answer = await self.casework("versions", "--json")
        assert answer.returncode == 0, f"casework versions failed: {answer.stderr}"
        rows = json.loads(answer.stdout)
        return list(rows["versions"] if isinstance(rows, dict) else rows)

    def stop(self) -> None:
        """Stop the workers and the mailbox (each worker may be stopped already)."""
        for worker in self.workers.values():
            worker.stop()
        self.sink.stop()

    # --- version 1: the cases, mid-life ---------------------------------------------------

    async def open_mix(self) -> None:
        """Every case of `mix`, each left in its state; the armed ones last."""
        if self.log_sharing_zone is not None:
            name = self.log_sharing_zone.name
            self.store.directory.set_us_citizen_support("cyberdyne", True, name)
        started = time.monotonic()
        limit = asyncio.Semaphore(IN_FLIGHT)
        order = ["partner", "log_sharing", "ladder", "answered", "armed"]
        steps = {
            "armed": self._armed,
            "answered": self._answered,
            "ladder": self._ladder,
            "log_sharing": self._log_sharing,
            "partner": self._partner,
        }

        async def one(kind: str, n: int) -> Case:
            async with limit:
                return await steps[kind](n)

        for kind in order:
            self.cases += await asyncio.gather(*(one(kind, n) for n in range(self.mix[kind])))
        self.timings.opened_s = time.monotonic() - started

    async def _open(self, kind: str, n: int, account: str, **fields: Any) -> Case:
        contact = CONTACTS[account]
        case_id = await self.desk.open(
            account_id=account,
            contact_id=contact,
            description=f"rollout {kind} case {n}: HA cluster fails over",
            **fields,
        )
        return Case(case_id=case_id, kind=kind, n=n, contact=contact)

    async def _armed(self, n: int) -> Case:
        return await self._open("armed", n, "acme" if n % 2 else "globex", priority="P1")

    async def _answered(self, n: int) -> Case:
        case = await self._open("answered", n, "acme" if n % 2 else "globex", priority="P1")
        case.owner = await self.owner(case.case_id)
        await self.act(case, "respond", case.owner, text=f"Looking at {case.case_id}")
        return case

    async def _ladder(self, n: int) -> Case:
        case = await self._open("ladder", n, "acme" if n % 2 else "globex", priority="P2")
        case.owner = await self.owner(case.case_id)
        await self.act(
            case,
            "escalate_now",
            case.contact,
            reason="lack_of_progress",
            note=f"{case.case_id} has been down for two days",
        )
        return case

    async def _log_sharing(self, n: int) -> Case:
        case = await self._open("log_sharing", n, "cyberdyne", priority="P2")
        if self.log_sharing_zone is None:
            return case  # U4: it waits in the queue for the window to open
        for level_owner in ("usc-kara", "usc-liam", "usc-maya"):
            await self.owner(case.case_id, level_owner)
            await self.act(case, "escalate", level_owner, reason=f"beyond {level_owner}")
        case.owner = await self.owner(case.case_id, "usc-noah")
        await self.act(
            case,
            "attach",
            case.contact,
            name=f"ike-{n}.log",
            sha256=STORED_SHA,
            size=len(STORED_FILES[0]),
        )
        await self.act(case, "request_log_approval", case.owner, logs=["att-1"], note=f"IKE of {n}")
        return case

    async def _partner(self, n: int) -> Case:
        case = await self._open(
            "partner", n, "soylent", priority="P3", channel="partner", partner_id=PARTNER
        )
        for level_owner in ("nw-nora", "nw-omar"):
            await self.owner(case.case_id, level_owner)
            await self.act(case, "escalate", level_owner, reason=f"beyond {level_owner}")
        case.owner = await self.owner(case.case_id, "nw-pia")
        await self.act(case, "escalate", case.owner, reason=f"{case.case_id} looks like a bug")
        case.vendor_escalation = f"{case.case_id}-esc-1"
        self.desk.opened.append(case.vendor_escalation)
        await self.owner(case.vendor_escalation, "gec-hugo")
        return case

    # --- reading and acting -----------------------------------------------------------------

    def row(self, case_id: str) -> dict[str, Any] | None:
        """The case list's row of the case (written with the case's side effects)."""
        with self.store.engine.connect() as conn:
            found = conn.execute(select(case_rows).where(case_rows.c.case_id == case_id))
            row = found.mappings().first()
        return dict(row) if row else None

    async def owner(self, case_id: str, expected: str | None = None) -> str:
        """The case's owner once it is assigned (to `expected`, if named)."""

        def assigned() -> str | None:
            row = self.row(case_id)
            if row is None or row["state"] != "in_progress" or row["owner"] is None:
                return None
            return str(row["owner"]) if expected in (None, row["owner"]) else None

        return str(await eventually(assigned))

    async def act(self, case: Case | str, action: str, actor: str, **payload: Any) -> Any:
        case_id = case if isinstance(case, str) else case.case_id
        return await self.desk.act(case_id, action, actor=actor, **payload)

    def of_kind(self, kind: str) -> list[Case]:
        return [c for c in self.cases if c.kind == kind]

    def case_by_id(self) -> dict[str, Case]:
        """Every case workflow's id, with its case of the mix (a vendor escalation: the partner
        case it escalates)."""
        found = {c.case_id: c for c in self.cases}
        found.update({c.vendor_escalation: c for c in self.cases if c.vendor_escalation})
        return found

    def case_ids(self) -> list[str]:
        """Every case workflow of the scenario: the opened cases and the vendor escalations."""
        ids = [c.case_id for c in self.cases]
        return ids + [c.vendor_escalation for c in self.cases if c.vendor_escalation]

    async def views(self, viewer: str = APPROVER) -> dict[str, CaseView]:
        """Every case as it stands, once settled (U5: the approver reads the restricted ones
        whole; every other case shows its content to anybody of the engine)."""
        limit = asyncio.Semaphore(IN_FLIGHT)

        async def one(case_id: str) -> tuple[str, CaseView]:
            async with limit:
                return case_id, await self.desk.view(case_id, viewer=viewer)

        return dict(await asyncio.gather(*(one(c) for c in self.case_ids())))

    # --- the upgrade ------------------------------------------------------------------------

    async def promote(self, build_id: str) -> dict[str, Any]:
        """`casework versions promote BUILD --json`, timed; its answer."""
        self.timings.promoted_at = datetime.now(UTC)
        self.timings.promote_started = time.monotonic()
        answer = await self.casework("versions", "promote", build_id, "--json")
        self.timings.promote_s = time.monotonic() - self.timings.promote_started
        assert answer.returncode == 0, f"promote {build_id} refused: {answer.stderr}"
        return dict(json.loads(answer.stdout))

    async def version_until(
        self, build_id: str, holds: Callable[[dict[str, Any]], Any], timeout: float | None = None
    ) -> dict[str, Any]:
        """`casework versions` until its row of `build_id` satisfies `holds` (its counts come
        from visibility, a moment behind the cases); that row."""
        rows: list[dict[str, Any]] = []

        async def row_that_holds() -> dict[str, Any] | None:
            nonlocal rows
            rows = await self.versions()
            row = next((r for r in rows if r.get("build_id") == build_id), None)
            return row if row is not None and holds(row) else None

        found: dict[str, Any] = await eventually(
            row_that_holds,
            timeout,
            every=VERSIONS_EVERY,
            what=lambda: f"`casework versions` to show {source_of(holds)} for {build_id}: {rows}",
        )
        return found

    async def until_may_shut_down(self, build_id: str, timeout: float) -> dict[str, Any]:
        """`casework versions` until it says `build_id` may be shut down; the drain time runs
        from the promotion's start."""
        row = await self.version_until(build_id, lambda r: r.get("may_shut_down"), timeout)
        self.timings.drain_s = time.monotonic() - self.timings.promote_started
        return row

    def figures(self) -> dict[str, Any]:
        return {
            "cases": len(self.case_ids()),
            "opened_in_s": round(self.timings.opened_s, 1),
            "promote_s": round(self.timings.promote_s, 1),
            "drain_s": round(self.timings.drain_s, 1),
            "drive_on_s": round(self.timings.drive_on_s, 1),
            "comments_during_rollout": sum(len(c) for c in self.comments.values()),
            "comments_sent_again": self.resent,
            "comments_unanswered_in_time": self.unanswered,
            "log_sharing": self.log_sharing_zone.name
            if self.log_sharing_zone
            else "no zone open: the cases wait for business hours",
        }

    async def end_relay(self) -> None:
        """The relay outlives its workers on the dev server: end it with the test."""
        try:
            await self.client.get_workflow_handle(f"casework-relay-{self.queue}").terminate()
        except RPCError:
            pass  # never started, or ended already

    async def chatter(self, stop: asyncio.Event) -> None:
        """CHATTER_CASES customers comment, one comment after the other, until `stop`."""
        talking = [c for c in self.of_kind("answered") if c.n % 2][:CHATTER_CASES]
        await asyncio.gather(*(self._chat(case, stop) for case in talking))

    async def _chat(self, case: Case, stop: asyncio.Event) -> None:
        """Comments before, while and after the case rolls over. Each is sent until accepted:
        again (a new update) after the roll-over's refusal, which changed nothing; again under
        the same update id when the server did not answer in time (as the door's clients resend
        under their Idempotency-Key: the case takes it at most once); any other failure fails
        the scenario."""
        said = self.comments.setdefault(case.case_id, [])
        handle = self.desk.case(case.case_id)
        after = 0
        for k in range(CHATTER_MAX):
            if stop.is_set() or after >= CHATTER_AFTER:
                return
            after += "continued" in self.feed_kinds(case.case_id)
            text = f"{case.case_id} comment {k} during the rollout"
            update_id = f"chatter-{uuid.uuid4().hex}"
            while True:
                try:
                    with as_person(case.contact):
                        await handle.execute_update(
                            "comment",
                            {"actor": case.contact, "text": text},
                            id=update_id,
                            result_type=ActionResult,
                            rpc_timeout=timedelta(seconds=SETTLE_TIMEOUT),
                        )
                    said.append(text)
                    break
                except WorkflowUpdateFailedError as e:
                    if ROLLING_OVER not in str(e.cause):
                        raise
                    update_id = f"chatter-{uuid.uuid4().hex}"
                    self.resent += 1
                except WorkflowUpdateRPCTimeoutOrCancelledError:
                    self.unanswered += 1  # a busy server: the same update again

    def stop_v1(self) -> None:
        self.workers[V1].stop()
        self.timings.v1_stopped_at = datetime.now(UTC)

    # --- version 2 only: the cases go on ------------------------------------------------------

    async def drive_on(self) -> None:
        """What happens to the cases after the upgrade, as `MIX`'s docstring says."""
        started = time.monotonic()
        limit = asyncio.Semaphore(IN_FLIGHT)
        steps: dict[str, Callable[[Case], Awaitable[None]]] = {
            "armed": self._breached_then_closed,
            "answered": self._resolved_and_closed,
            "ladder": self._acknowledged,
            "log_sharing": self._approved_and_filed,
            "partner": self._vendor_resolved,
        }

        async def one(case: Case) -> None:
            async with limit:
                await steps[case.kind](case)

        await asyncio.gather(*(one(c) for c in self.cases))
        for case_id in self.case_ids():
            assert await self.desk.settle(case_id), f"{case_id} never settled"
        self.timings.drive_on_s = time.monotonic() - started

    async def _breached_then_closed(self, case: Case) -> None:
        """S3: the timer armed on version 1 fires on version 2; then the customer closes."""
        wait = (BREACH_AFTER + timedelta(seconds=60 * TIME_SCALE)).total_seconds()
        await eventually(lambda: (self.row(case.case_id) or {}).get("breached"), timeout=wait)
        await self.act(case, "close", case.contact, reason=f"{case.case_id}: works again")

    async def _resolved_and_closed(self, case: Case) -> None:
        if case.n % 2:
            return  # left open, answered
        assert case.owner is not None
        await self.act(case, "resolve", case.owner, resolution=f"{case.case_id}: fixed in 7.4.4")
        await self.act(case, "close", case.contact, reason=f"{case.case_id}: thanks")

    async def _acknowledged(self, case: Case) -> None:
        """E3: acknowledged at once (even), or after the ladder passed it on (odd)."""
        if case.n % 2:
            await eventually(
                lambda: "escalation_passed_on" in self.feed_kinds(case.case_id),
                timeout=(ACK_WITHIN + timedelta(seconds=60 * TIME_SCALE)).total_seconds(),
            )
        view = await self.desk.view(case.case_id)
        escalation = view.escalations[-1]
        manager = escalation.ladder[escalation.step].id
        await self.act(case, "acknowledge_escalation", manager, note=f"{case.case_id} is mine")

    async def _approved_and_filed(self, case: Case) -> None:
        """U6: the approver answers the request version 1 asked; the PR carries the log."""
        if self.log_sharing_zone is None:
            return
        assert case.owner is not None
        await self.act(case, "approve_logs", APPROVER)
        await self.act(case, "file_problem_report", case.owner, summary=f"IKE bug {case.n}")

    async def _vendor_resolved(self, case: Case) -> None:
        """P4: our L3 resolves the escalation; the partner resolves, its customer closes."""
        assert case.vendor_escalation is not None and case.owner is not None
        resolution = f"{case.vendor_escalation}: fixed in 7.4.4"
        await self.act(case.vendor_escalation, "resolve", "gec-hugo", resolution=resolution)
        await self.owner(case.case_id, case.owner)  # back from the vendor (P4)
        await self.act(case, "resolve", case.owner, resolution=f"{case.case_id}: upgraded")
        await self.act(case, "close", case.contact, reason=f"{case.case_id}: thanks")

    async def until_delivered(self) -> None:
        """The relay has delivered every notification of the cases (to the mailbox)."""

        def pending() -> list[str]:
            return [
                n["idempotency_key"]
                for case_id in self.case_ids()
                for n in self.store.outbox.rows(case_id)
                if n["status"] != "delivered"
            ]

        await eventually(lambda: not pending())

    def feed_kinds(self, case_id: str) -> list[str]:
        return [e["kind"] for e in self.store.feed.page(case_id, limit=1000)]
