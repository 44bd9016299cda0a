"""Replay: a change to workflow code must not break the cases already running.

Every history in tests/histories (recorded by scripts/record_histories.py from real cases:
the escalation ladder to a PR, a breach with a priority change, refusals, waiting on the
customer and continue-as-new) is replayed against today's workflows. A nondeterminism error
here means running cases would wedge after a deploy: version the change (`workflow.patched`)
instead of editing the path they are on.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory, WorkflowUpdateFailedError
from temporalio.common import HeaderCodecBehavior, RawValue
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from casework.attachments import AttachmentStore
from casework.domain.sla import SlaPolicy
from casework.identity.interceptors import PrincipalCheck
from casework.store import Store
from tests.conftest import (
    CONVERTER,
    STORED_SHA,
    TEST_RING,
    Desk,
    as_person,
    policy_in_seconds,
    signed,
)
from worker import WORKFLOW_RUNNER, WORKFLOWS, activities_for, build_worker

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    """A recorded history under its workflow id (histories since issue 10 carry it: the door's
    tokens are signed for one case; older ones are named by their file)."""
    history = json.loads(path.read_text(encoding="utf-8"))
    return WorkflowHistory.from_json(history.pop("workflowId", path.stem), history)


def last_event_type(path: Path) -> str:
    return str(json.loads(path.read_text(encoding="utf-8"))["events"][-1]["eventType"])


def test_the_recorded_histories_cover_both_workflows_and_a_roll_over() -> None:
    """The replay below is only as good as what was recorded: intake and case histories,
    closed cases, and a case run that continued as new."""
    names = {p.stem for p in HISTORIES}
    assert {"ladder-intake", "ladder-case", "breach-case", "refusals-case-run1"} <= names
    assert {"restricted-intake", "restricted-case", "declined-case"} <= names  # U1-U6
    assert {"partner-intake", "partner-case", "partner-esc"} <= names  # P3, P4
    assert {"escalated-intake", "escalated-case"} <= names  # E3, A5
    # recorded after the case workflow became parts, with its feed in the database
    parts = {"refusals-case-run1", "refusals-case", "restricted-case", "partner-case"}
    assert {f"parts-{n}" for n in parts | {"partner-esc", "escalated-case"}} <= names
    assert last_event_type(HISTORIES[0].with_name("refusals-case-run1.json")) == (
        "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW"
    )
    for name in (
        "ladder-case",
        "breach-case",
        "refusals-case",
        "ladder-intake",
        "restricted-case",
        "declined-case",
        "partner-case",
        "partner-esc",
        "escalated-case",
    ):
        path = HISTORIES[0].with_name(f"{name}.json")
        assert last_event_type(path) == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED", name
    # recorded since batched side effects and the case generation marker (issue 12)
    assert {f"batched-{n}" for n in parts | {"partner-esc", "escalated-case"}} <= names
    # case generation 2: the database steps as local activities (issue 12)
    assert {f"local-{n}" for n in ("refusals-case-run1", "restricted-case", "escalated-case")} <= (
        names
    )
    # an intake's two steps as one local activity, intake-one-step (issue 12)
    assert {"onestep-partner-intake", "onestep-partner-case", "onestep-partner-esc"} <= names
    # case generation 3: a task's side effects written once settled, the first routing made
    # by the intake (issue 12)
    assert {"settled-ladder-intake", "settled-ladder-case"} <= names
    # control characters a case took before issue 24's text rule refused them
    assert "controls-case" in names
    # encrypted payloads (issue 10) are larger: the id- generation is about 400 KB of it
    assert sum(p.stat().st_size for p in HISTORIES) < 2_500_000


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_case_replays_without_nondeterminism(path: Path) -> None:
    """Cases running in production keep running after a deploy of today's workflow code."""
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=CONVERTER,
        interceptors=[PrincipalCheck(TEST_RING)],  # as build_worker has it
        workflow_runner=WORKFLOW_RUNNER,
        header_codec_behavior=HeaderCodecBehavior.CODEC,  # the tokens, encrypted (issue 24)
    )
    result = await replayer.replay_workflow(load(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


@workflow.defn(name="Intake", sandboxed=False)
class ChangedIntake:
    """Today's intake with a step added before the intake activity: what a careless edit
    looks like to a running workflow."""

    @workflow.run
    async def run(self, request: dict) -> dict:  # type: ignore[type-arg]
        await workflow.sleep(timedelta(seconds=1))
        return {}


async def test_replay_catches_a_changed_workflow() -> None:
    """The replay test can fail: a workflow whose steps changed does not replay an old history."""
    replayer = Replayer(workflows=[ChangedIntake], data_converter=CONVERTER)
    history = load(HISTORIES[0].with_name("ladder-intake.json"))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, NondeterminismError)


@pytest.fixture
def policy() -> SlaPolicy:
    return policy_in_seconds()


async def test_a_case_lives_its_whole_life_with_every_task_replayed(
    env: WorkflowEnvironment, store: Store, policy: SlaPolicy
) -> None:
    """E1/E2/E5/E4 with no workflow cache: every workflow task rebuilds the case from its
    history, so any nondeterminism in today's code fails this case."""
    task_queue = f"tq-nocache-{uuid.uuid4().hex[:8]}"
    worker = build_worker(
        env.client,
        task_queue=task_queue,
        activities=activities_for(store, policy),
        ring=TEST_RING,
        max_cached_workflows=0,
    )
    async with worker:
        desk = Desk(signed(env.client), task_queue, {"index_search_attributes": False})
        case_id = await desk.open(priority="P2")
        view = await desk.until(case_id, lambda v: v.state == "in_progress")
        assert view.owner is not None and view.owner.engineer_id == "cc-dana"
        await desk.act(case_id, "respond", actor="cc-dana", text="Looking at it")
        await desk.act(case_id, "request_info", actor="cc-dana", items=["logs"])
        await desk.act(case_id, "provide_info", actor="acme-bob", text="ref-1")
        await desk.act(case_id, "escalate", actor="cc-dana", reason="needs L1")
        view = await desk.until(case_id, lambda v: v.state == "in_progress" and v.level == "L1")
        assert view.owner is not None and view.owner.engineer_id == "gsc-erin"
        await desk.act(case_id, "change_priority", actor="acme-alice", priority="P3")
        await desk.act(case_id, "resolve", actor="gsc-erin", resolution="config fix")
        await desk.act(case_id, "close", actor="acme-alice")
        final = await desk.result(case_id)
    assert final.state == "closed"
    assert final.priority == "P3"
    assert final.sla.breached_at is None
    kinds = [e.kind for e in final.feed if not e.refused]
    assert kinds == [
        "opened",
        "assigned",
        "first_response",
        "request_info",
        "provide_info",
        "escalate",
        "assigned",
        "change_priority",
        "resolve",
        "close",
    ]


async def test_attach_checks_and_raw_act_payloads_replay(
    env: WorkflowEnvironment, store: Store, files: AttachmentStore, policy: SlaPolicy
) -> None:
    """U5/E4 with no workflow cache: asking the attachment store (a refused and an accepted
    attach) and refusing an `act` payload that is not JSON replay as they first ran."""
    task_queue = f"tq-nocache-{uuid.uuid4().hex[:8]}"
    worker = build_worker(
        env.client,
        task_queue=task_queue,
        activities=activities_for(store, policy, attachments=files),
        ring=TEST_RING,
        max_cached_workflows=0,
    )
    async with worker:
        desk = Desk(signed(env.client), task_queue, {"index_search_attributes": False})
        case_id = await desk.open(priority="P2")
        await desk.until(case_id, lambda v: v.state == "in_progress")
        missing = hashlib.sha256(b"never uploaded").hexdigest()
        with pytest.raises(WorkflowUpdateFailedError):
            await desk.act(
                case_id, "attach", actor="acme-alice", name="x.log", sha256=missing, size=1
            )
        await desk.act(
            case_id, "attach", actor="acme-alice", name="ike.log", sha256=STORED_SHA, size=1
        )
        not_json = Payload(metadata={"encoding": b"json/plain"}, data=b"{not json")
        await desk.case(case_id).signal("act", RawValue(not_json))
        with as_person("acme-alice"):
            await desk.case(case_id).signal("act", {"action": "close"})
        final = await desk.result(case_id)
    kinds = [
        (e.kind, e.refused) for e in final.feed if e.kind in ("attach", "attached", "act", "close")
    ]
    assert kinds == [("attach", True), ("attached", False), ("act", True), ("close", False)]
