"""Poison payloads (issue 24), from the outside, on the real dev server with its Web UI.

A stranger with access to the namespace crafts payloads by hand: labelled `binary/encrypted`
but with a key id the engine does not have, with no key id at all, or with a real key id and
random bytes. Each goes to a case on every path a stranger has (the `act` signal, a signal name
the case does not define, an update, a query), through the `temporal` CLI and through the Web
UI's HTTP API (which has no login, only a CSRF cookie). No workflow task may fail: every case
still answers, still takes actions, and its P1 first-response target still breaches and alerts
the Escalation Manager on time. A stranger's start of `Case`, `Intake` or the relay with such an
input fails that workflow with the reason instead of leaving one whose tasks fail forever.

One engine (a dev server with its UI, one worker) serves the whole module; the matrix runs its
cases side by side, so the module takes about one P1 target plus the time to open the cases.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from google.protobuf.json_format import ParseDict
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from casework import search_attributes
from casework.attachments import AttachmentStore
from casework.domain.actions import ActionResult, ViewRequest
from casework.domain.models import CaseView
from casework.domain.sla import SlaPolicy, policy_with
from casework.notify.contracts import RELAY_WORKFLOW
from casework.store import Store
from tests.cli_door import free_port
from tests.conftest import (
    CONVERTER,
    QUERY_TIMEOUT,
    SETTLE_TIMEOUT,
    TEST_RING,
    TIME_SCALE,
    Desk,
    as_person,
    binary,
    engine_replayer,
    eventually,
    signed,
)
from tests.door_helpers import bearer, door, key_for
from worker import activities_for, build_worker, opener

pytestmark = pytest.mark.timeout(240)

TARGET_SECONDS = round(30 * TIME_SCALE)
"""The P1 first-response target of these tests (S5: a table with seconds): long enough to open
every case of the matrix and poison it first, short enough to wait for."""
ALERT_SLACK = timedelta(seconds=10 * TIME_SCALE)
"""How late after the target the Escalation Manager's alert may land and still be on time (a
wedged case never alerts)."""
CLI_TIMEOUT = 10 * TIME_SCALE
"""How long the CLI and the Web UI wait for an answer (an update to a wedged case never has one)."""
CONTACT = "acme-alice"

VARIANTS: dict[str, tuple[dict[str, str], bytes]] = {
    "bad key id": (
        {
            "encoding": "binary/encrypted",
            "encryption-key-id": "no-such-key",
            "casework-realm": "ordinary",
        },
        os.urandom(48),
    ),
    "no key id": ({"encoding": "binary/encrypted"}, b'"x"'),
    "random bytes": (
        {
            "encoding": "binary/encrypted",
            "encryption-key-id": TEST_RING.active("payload").id,
            "casework-realm": "ordinary",
        },
        os.urandom(64),
    ),
}
"""Metadata (as the CLI's --input-meta takes it) and data of each poison."""
PATHS = ("act", "undefined signal", "update", "query")
ROUTES = ("temporal CLI", "Web UI API")
UNDEFINED_SIGNAL = "reopen_please"
"""A signal name the case does not define."""
SIGNAL_OF = {
    "act": "act",
    "undefined signal": UNDEFINED_SIGNAL,
    "vendor_progress": "vendor_progress",
    "partner_info": "partner_info",
}
"""The signal each signal path sends; P4's two (between a partner case and its vendor
escalation) are tried once each besides the matrix."""
REFUSED_ON_FEED = {
    "act": "could not be decoded",
    "undefined signal": f"no signal {UNDEFINED_SIGNAL!r}",
    "vendor_progress": "could not be decoded",
    "partner_info": "could not be decoded",
}
"""What the case's feed says, for a poison on each signal path."""


def policy_with_short_p1() -> SlaPolicy:
    return policy_with(
        {"GOLD": {"P2": "600s", "P3": "4800s"}, "PLATINUM": {"P2": "600s", "P3": "2400s"}},
        every_tier={"P1": f"{TARGET_SECONDS}s"},
        routing_retry="5s",
    )


# --- the engine: a dev server with its Web UI, and a worker over the test's database -----------


@dataclass
class Engine:
    env: WorkflowEnvironment
    ui: str
    """The Web UI's base URL (its HTTP API is under /api/v1)."""

    @property
    def address(self) -> str:
        return self.env.client.service_client.config.target_host

    @property
    def client(self) -> Client:
        return self.env.client


@pytest_asyncio.fixture(scope="module")
async def engine() -> AsyncIterator[Engine]:
    ui_port = free_port()
    async with await WorkflowEnvironment.start_local(
        data_converter=CONVERTER,
        dev_server_existing_path=binary("temporal"),
        search_attributes=search_attributes.ALL,
        ui=True,
        ui_port=ui_port,
        dev_server_extra_args=["--ui-disable-news-fetch"],
        dev_server_startup_timeout=timedelta(seconds=SETTLE_TIMEOUT),
    ) as env:
        yield Engine(env, f"http://127.0.0.1:{ui_port}")


@pytest.fixture
def policy() -> SlaPolicy:
    return policy_with_short_p1()


@pytest_asyncio.fixture
async def poison_desk(
    engine: Engine, store: Store, policy: SlaPolicy, files: AttachmentStore
) -> AsyncIterator[Desk]:
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    activities = activities_for(store, policy, attachments=files)
    async with build_worker(
        engine.client, task_queue=task_queue, activities=activities, ring=TEST_RING
    ):
        desk = Desk(signed(engine.client), task_queue, {})
        desk.opener = opener(engine.client, activities, task_queue)
        yield desk
        for case_id in desk.opened:
            try:
                await desk.case(case_id).terminate(reason="test finished")
            except RPCError:
                pass


# --- how a stranger sends a poison -----------------------------------------------------------


@dataclass
class Answer:
    """What the sender was told: whether the call succeeded, and what it said."""

    ok: bool
    text: str


async def cli(engine: Engine, *args: str) -> Answer:
    process = await asyncio.create_subprocess_exec(
        binary("temporal"),
        *args,
        "--address",
        engine.address,
        "--command-timeout",
        f"{CLI_TIMEOUT:.0f}s",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")},
    )
    out, _ = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT + 10)
    return Answer(process.returncode == 0, out.decode(errors="replace"))


def cli_input(variant: str) -> list[str]:
    metadata, data = VARIANTS[variant]
    args = ["--input-base64", "--input", base64.b64encode(data).decode()]
    for key, value in metadata.items():
        args += ["--input-meta", f"{key}={value}"]
    return args


def wire(variant: str) -> dict[str, Any]:
    """The poison as the Web UI's HTTP API takes a payload (protobuf JSON)."""
    metadata, data = VARIANTS[variant]
    return {
        "metadata": {k: base64.b64encode(v.encode()).decode() for k, v in metadata.items()},
        "data": base64.b64encode(data).decode(),
    }


class WebUi:
    """The Web UI's HTTP API as the browser calls it: the `_csrf` cookie it sets, echoed in
    the X-CSRF-TOKEN header of every write; no login."""

    def __init__(self, engine: Engine) -> None:
        self.http = httpx.AsyncClient(base_url=engine.ui, timeout=CLI_TIMEOUT)
        self.namespace = engine.client.namespace

    async def __aenter__(self) -> WebUi:
        await self.http.get("/api/v1/settings")
        assert "_csrf" in self.http.cookies, "the Web UI set no CSRF cookie"
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.aclose()

    async def post(self, path: str, body: dict[str, Any]) -> Answer:
        try:
            response = await self.http.post(
                f"/api/v1/namespaces/{self.namespace}/{path}",
                json=body,
                headers={"X-CSRF-TOKEN": self.http.cookies["_csrf"]},
            )
        except httpx.TimeoutException:
            return Answer(False, "no answer in time")
        return Answer(response.is_success, response.text)

    async def signal(self, workflow_id: str, name: str, variant: str) -> Answer:
        return await self.post(
            f"workflows/{workflow_id}/signal/{name}", {"input": {"payloads": [wire(variant)]}}
        )

    async def update(self, workflow_id: str, name: str, variant: str) -> Answer:
        body = {
            "request": {
                "meta": {"updateId": uuid.uuid4().hex},
                "input": {"args": {"payloads": [wire(variant)]}},
            },
            "waitPolicy": {"lifecycleStage": "UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED"},
        }
        return await self.post(f"workflows/{workflow_id}/update/{name}", body)

    async def query(self, workflow_id: str, name: str, variant: str) -> Answer:
        body = {"query": {"queryArgs": {"payloads": [wire(variant)]}}}
        return await self.post(f"workflows/{workflow_id}/query/{name}", body)

    async def start(
        self, workflow_id: str, workflow_type: str, task_queue: str, variant: str
    ) -> Answer:
        body = {
            "workflowType": {"name": workflow_type},
            "taskQueue": {"name": task_queue},
            "input": {"payloads": [wire(variant)]},
            "requestId": uuid.uuid4().hex,
        }
        return await self.post(f"workflows/{workflow_id}", body)


async def send(engine: Engine, ui: WebUi, cell: Cell) -> Answer:
    """One poison on one path through one route; what the sender was told."""
    case_id, variant = cell.case_id, cell.variant
    signal = SIGNAL_OF.get(cell.path)
    if cell.route == "Web UI API":
        if signal:
            return await ui.signal(case_id, signal, variant)
        if cell.path == "update":
            return await ui.update(case_id, "comment", variant)
        return await ui.query(case_id, "view", variant)
    poison = ["--workflow-id", case_id, *cli_input(variant)]
    if signal:
        return await cli(engine, "workflow", "signal", "--name", signal, *poison)
    if cell.path == "update":
        return await cli(engine, "workflow", "update", "execute", "--name", "comment", *poison)
    return await cli(engine, "workflow", "query", "--name", "view", *poison)


# --- what a wedged case looks like from outside ---------------------------------------------------


async def failed_tasks(client: Client, workflow_id: str) -> list[str]:
    """Why each workflow task of the workflow failed (a poisoned case fails every one)."""
    reasons = []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failure = await CONVERTER.decode_failure(
                event.workflow_task_failed_event_attributes.failure
            )
            reasons.append(f"{type(failure).__name__}: {str(failure)[:120]}")
    return reasons


async def updates_accepted(client: Client, workflow_id: str) -> int:
    accepted = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    handle = client.get_workflow_handle(workflow_id)
    return len([e async for e in handle.fetch_history_events() if e.event_type == accepted])


async def view_of(desk: Desk, case_id: str) -> CaseView:
    with as_person(CONTACT):
        return await desk.case(case_id).query(
            "view",
            ViewRequest(viewer=CONTACT),
            result_type=CaseView,
            rpc_timeout=timedelta(seconds=QUERY_TIMEOUT),
        )


async def comment(desk: Desk, case_id: str) -> ActionResult:
    with as_person(CONTACT):
        return await asyncio.wait_for(
            desk.case(case_id).execute_update(
                "comment", {"text": "still down after the poison"}, result_type=ActionResult
            ),
            QUERY_TIMEOUT,
        )


@dataclass
class Cell:
    variant: str
    path: str
    route: str
    case_id: str = ""
    due_at: datetime | None = None
    answer: Answer | None = None
    alert_after: timedelta | None = None
    """When the Escalation Manager's alert was seen, after the target."""
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.variant} / {self.path} / {self.route}"


async def check_case(desk: Desk, cell: Cell) -> None:
    """The case still answers and takes an action; what a stranger's poison must not change."""
    try:
        await comment(desk, cell.case_id)
    except Exception as e:  # any failure is the finding, reported with the matrix
        cell.problems.append(f"comment not taken: {type(e).__name__}: {str(e)[:100]}")
    try:
        view = await view_of(desk, cell.case_id)
    except Exception as e:
        cell.problems.append(f"view not answered: {type(e).__name__}: {str(e)[:100]}")
        return
    if not any(e.kind == "comment" for e in view.feed):
        cell.problems.append("the comment is not on the feed")
    said = REFUSED_ON_FEED.get(cell.path)
    if said and not any(e.refused and said in e.text for e in view.feed):
        cell.problems.append(
            f"no refusal on the feed saying {said!r}: "
            f"{[(e.kind, e.text[:80]) for e in view.feed if e.refused]}"
        )


async def check_answer(cell: Cell) -> None:
    """A poisoned update is refused at once and says why: the failure's type is in clear
    (`UndecodablePayload`), its message is the codec's reason for whoever may decode it (the
    codec server, here the engine's converter). A poisoned query answers an error at once (its
    message, like every failure's, is encrypted). A signal is delivered."""
    answer = cell.answer
    assert answer is not None
    if cell.path == "query":
        if answer.ok or any(w in answer.text for w in UNANSWERED):
            cell.problems.append(f"the query was not answered with an error: {answer.text[:100]}")
        return
    if cell.path != "update":
        if not answer.ok:
            cell.problems.append(f"the signal was not delivered: {answer.text[:100]}")
        return
    failure = _update_failure(answer.text)  # the Web UI's API answers a rejection with a 200
    refused = failure is not None or not answer.ok
    if not refused or any(w in answer.text for w in UNANSWERED):
        cell.problems.append(f"the update was not refused at once: {answer.text[:100]}")
    elif "UndecodablePayload" not in answer.text:
        cell.problems.append(f"the update's refusal does not say why: {answer.text[:200]}")
    elif failure is not None:
        error = await CONVERTER.decode_failure(failure)
        reason = str(error.__cause__)
        if not any(w in reason for w in ("cannot be decrypted", "no encryption-key-id")):
            cell.problems.append(f"the update's refusal reads {error}: {reason}")


UNANSWERED = ("no answer in time", "deadline exceeded", "program interrupted")
"""What the CLI and the Web UI say when the engine never answered."""


def _update_failure(text: str) -> Failure | None:
    """The failure of an update the Web UI's API reports rejected (its answer is a 200)."""
    try:
        outcome = json.loads(text).get("outcome", {})
    except ValueError:
        return None
    if "failure" not in outcome:
        return None
    return ParseDict(outcome["failure"], Failure())


def matrix(cells: list[Cell]) -> str:
    lines = [f"{'variant':<14}{'path':<18}{'route':<14}result"]
    for c in cells:
        after = c.alert_after.total_seconds() if c.alert_after else None
        alert = f" (breach alert seen {after:+.1f} s after the target)" if after else ""
        verdict = "wedged: " + "; ".join(c.problems) if c.problems else "not wedged" + alert
        lines.append(f"{c.variant:<14}{c.path:<18}{c.route:<14}{verdict}")
    return "\n".join(lines)


# --- the matrix -------------------------------------------------------------------------------


async def gather_bounded(jobs: list[Callable[[], Awaitable[Any]]], at_once: int = 4) -> list[Any]:
    """Run `jobs` a few at a time (the machine has 2 cores, the CLI is a process each)."""
    gate = asyncio.Semaphore(at_once)

    async def run(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(run(j) for j in jobs)))


async def test_no_poison_payload_wedges_a_case_and_p1_targets_still_breach_on_time(
    engine: Engine, poison_desk: Desk, store: Store
) -> None:
    """Issue 24: 3 poisons x 4 paths x 2 routes (and P4's two signals), a P1 case each: no
    workflow task fails; every case answers `view` and takes a comment; a poisoned signal is
    refused on the feed saying why (the payload does not decode, or the case has no such
    signal); a poisoned update is refused at once saying why, a poisoned query answers an error;
    every case breaches its P1 target and alerts the Escalation Manager on time (S1, S3); and
    what the cases recorded replays."""
    desk = poison_desk
    cells = [Cell(v, p, r) for v in VARIANTS for p in PATHS for r in ROUTES]
    cells += [
        Cell("no key id", "vendor_progress", ROUTES[0]),
        Cell("random bytes", "partner_info", ROUTES[1]),
    ]
    ids = await gather_bounded([lambda: desk.open(priority="P1") for _ in cells], at_once=6)
    views = await gather_bounded([lambda i=i: view_of(desk, i) for i in ids])  # type: ignore[misc]
    for cell, case_id, view in zip(cells, ids, views, strict=True):
        cell.case_id, cell.due_at = case_id, view.sla.due_at

    async with WebUi(engine) as ui:

        async def poison(cell: Cell) -> None:
            sent_at = datetime.now(UTC)
            assert cell.due_at is not None
            assert sent_at < cell.due_at, (
                f"{cell.name}: the poison went at {sent_at}, after the case's target "
                f"({cell.due_at}): raise CASEWORK_TEST_TIME_SCALE on this machine"
            )
            cell.answer = await send(engine, ui, cell)

        await gather_bounded([lambda c=c: poison(c) for c in cells])  # type: ignore[misc]

    for cell in cells:
        await check_answer(cell)
    await gather_bounded([lambda c=c: check_case(desk, c) for c in cells])  # type: ignore[misc]

    alerted: dict[str, datetime] = {}

    def every_case_alerted() -> bool:
        now = datetime.now(UTC)
        for cell in cells:
            rows = store.outbox.rows(cell.case_id)
            if cell.case_id not in alerted and any(
                r["recipient_kind"] == "escalation_manager" for r in rows
            ):
                alerted[cell.case_id] = now
        latest = max(c.due_at for c in cells if c.due_at) + ALERT_SLACK
        return len(alerted) == len(cells) or now > latest

    await eventually(every_case_alerted, timeout=TARGET_SECONDS + SETTLE_TIMEOUT)
    for cell in cells:
        at = alerted.get(cell.case_id)
        assert cell.due_at is not None
        if at is None:
            cell.problems.append("the P1 breach alerted nobody")
        else:
            cell.alert_after = at - cell.due_at
            if at > cell.due_at + ALERT_SLACK:
                cell.problems.append(f"the breach alert came {cell.alert_after} after the target")
        failures = await failed_tasks(engine.client, cell.case_id)
        if failures:
            cell.problems.append(f"{len(failures)} workflow task(s) failed: {failures[0]}")
        accepted = await updates_accepted(engine.client, cell.case_id)
        if accepted != 1:  # the test's own comment; a poisoned update never enters history
            cell.problems.append(f"{accepted} updates in the history, not the comment alone")
    print("\n" + matrix(cells))
    assert not any(c.problems for c in cells), "cases wedged by a poison:\n" + matrix(cells)

    replayer = engine_replayer()
    for cell in cells:  # a worker that restarts replays what the poisoned cases recorded
        history = await desk.case(cell.case_id).fetch_history()
        replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert replayed.replay_failure is None, f"{cell.name}: {replayed.replay_failure}"


# --- a stranger's start ------------------------------------------------------------------------

STARTS = {
    **{name: name for name in VARIANTS},
    "JSON of another shape": "json",
}


async def test_a_start_with_a_poison_input_fails_that_workflow_with_the_reason(
    engine: Engine, poison_desk: Desk
) -> None:
    """A stranger starting `Case`, `Intake` or the relay with an input that does not decode
    (each poison, and JSON that is not the workflow's input) through the CLI or the Web UI:
    that workflow fails at once saying why; none is left running with failing tasks (an intake
    left so would hold its request id, the relay the notifications)."""
    queue = poison_desk.task_queue
    started: list[tuple[str, str]] = []
    async with WebUi(engine) as ui:
        for workflow_type in ("Case", "Intake", RELAY_WORKFLOW):
            for variant in [*VARIANTS, "json"]:
                for route in ROUTES:
                    workflow_id = f"poison-{workflow_type.lower()}-{uuid.uuid4().hex[:8]}"
                    if route == "Web UI API":
                        if variant == "json":
                            continue  # the CLI covers JSON; the UI sends what the CLI does
                        answer = await ui.start(workflow_id, workflow_type, queue, variant)
                    else:
                        inputs = ["--input", '"x"'] if variant == "json" else cli_input(variant)
                        answer = await cli(
                            engine,
                            "workflow",
                            "start",
                            "--type",
                            workflow_type,
                            "--task-queue",
                            queue,
                            "--workflow-id",
                            workflow_id,
                            *inputs,
                        )
                    assert answer.ok, answer.text
                    started.append((workflow_id, f"{workflow_type} / {variant} / {route}"))

    async def outcome(workflow_id: str) -> str:
        handle = engine.client.get_workflow_handle(workflow_id)

        async def failed_or_ended() -> bool:
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                return True
            return bool(await failed_tasks(engine.client, workflow_id))

        await eventually(
            failed_or_ended, every=0.1, what=f"{workflow_id} to end or fail a workflow task"
        )
        failures = await failed_tasks(engine.client, workflow_id)
        if failures:
            return f"wedged: its workflow task failed: {failures[0]}"
        try:
            await handle.result()
        except WorkflowFailureError as e:
            return str(e.cause)
        return f"not failed: {(await handle.describe()).status}"

    outcomes = await gather_bounded([lambda w=w: outcome(w) for w, _ in started])  # type: ignore[misc]
    wrong = [
        f"{what}: {said}"
        for (_, what), said in zip(started, outcomes, strict=True)
        if "not started" not in said
    ]
    assert not wrong, "\n".join(wrong)


# --- the door reading a history with a poison ------------------------------------------------


async def test_the_door_opens_a_request_whose_intake_id_a_stranger_poisoned(
    engine: Engine, poison_desk: Desk, store: Store, tmp_path: Path
) -> None:
    """A stranger starts `intake-<request id>` with a poison before the customer's integration
    sends that request: the door still opens the case (it compares a retried request with the
    first one sent, and an input it cannot read is no earlier request), never a 500."""
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    answer = await cli(
        engine,
        "workflow",
        "start",
        "--type",
        "Intake",
        "--task-queue",
        poison_desk.task_queue,
        "--workflow-id",
        f"intake-{request_id}",
        *cli_input("no key id"),
    )
    assert answer.ok, answer.text
    body = {
        "request_id": request_id,
        "channel": "web",
        "product": "FortiGate",
        "version": "7.4.3",
        "priority": "P2",
        "description": "HA cluster fails over",
    }
    async with door(store, poison_desk, tmp_path) as http:
        token = key_for(store, CONTACT)
        response = await http.post("/v1/cases", json=body, headers=bearer(token))
        assert response.status_code == 200, response.text
        case_id = response.json()["case_id"]
        poison_desk.opened.append(case_id)
        again = await http.post("/v1/cases", json=body, headers=bearer(token))
        assert again.status_code == 200, again.text
        assert again.json()["case_id"] == case_id
