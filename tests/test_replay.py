"""Replay: this release's workflow code replays every history this release records.

Every history in tests/histories (recorded by scripts/record_histories.py from real cases:
the escalation ladder to a PR, a breach with a priority change, refusals, waiting on the
customer and continue-as-new, US Citizen Support, a partner case and its vendor escalation,
Escalate Now, the first word to the customer, control characters, the intake, the relay) is
replayed against today's workflows, and a case is run with no workflow cache, every task
replayed.

The support window (issue 28; docs/deployment.md, "Support window"): workers are versioned
and runs pinned, so a release replays only its own histories; a case moves between releases
only by continuing as new onto the current version; and the upgrade from 0.1.0 (before
versioning) goes through 0.2.0, the bridge, which keeps every patch 0.1.0 asked. So the
histories here are those this release records, one per scenario, re-recorded with every
release, and no workflow asks a patch (workflows/case/patches.py: how a workflow changes
now). A nondeterminism error here means the recording is stale (re-record it) or the
workflow is not deterministic (fix it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from casework.attachments import AttachmentStore
from casework.domain.sla import SlaPolicy
from casework.store import Store
from tests.conftest import (
    CONVERTER,
    STORED_SHA,
    TEST_RING,
    Desk,
    as_person,
    engine_replayer,
    policy_in_seconds,
    signed,
)
from worker import activities_for, build_worker
from workflows.case import patches

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
HISTORY_BUDGET = 2_500_000
"""Bytes of checked-in histories at most (encrypted payloads, issue 10, are larger)."""


def load(path: Path) -> WorkflowHistory:
    """A recorded history under its workflow id (histories since issue 10 carry it: the door's
    tokens are signed for one case; older ones are named by their file)."""
    history = json.loads(path.read_text(encoding="utf-8"))
    return WorkflowHistory.from_json(history.pop("workflowId", path.stem), history)


def last_event_type(path: Path) -> str:
    return str(json.loads(path.read_text(encoding="utf-8"))["events"][-1]["eventType"])


def test_the_recorded_histories_cover_both_workflows_and_a_roll_over() -> None:
    """The replay below is only as good as what was recorded: each scenario once, its intake
    and its closed case, a case run that continued as new, and a run of the relay."""
    opened = ("ladder", "breach", "refusals", "restricted", "declined", "partner", "escalated")
    completed = {f"{n}-intake" for n in opened} | {f"{n}-case" for n in opened}
    completed |= {"partner-esc", "firstword-case", "controls-case"}  # the rest by the door
    continued = {"refusals-case-run1", "relay-run1"}  # a case, and the relay's lanes
    names = {p.stem for p in HISTORIES}
    assert names == completed | continued, "one history per scenario, no generations"
    for name in sorted(names):
        ended = last_event_type(HISTORIES[0].with_name(f"{name}.json"))
        if name in continued:
            assert ended == "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW", name
        else:
            assert ended == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED", name
    assert sum(p.stat().st_size for p in HISTORIES) < HISTORY_BUDGET


def test_the_histories_are_this_releases() -> None:
    """Issue 28: a history an older release recorded carries the patch markers of its day;
    this release asks none but those declared in patches.py (none), so such a history has
    no place here (it is replayed by its own release's workers)."""
    for path in HISTORIES:
        asked = set(patch_ids(path))
        assert asked <= set(patches.ALL), f"{path.name} was recorded by an older release: {asked}"


def patch_ids(path: Path) -> list[str]:
    """The patch ids a history's markers record."""
    found = []
    for event in json.loads(path.read_text(encoding="utf-8"))["events"]:
        marker = event.get("markerRecordedEventAttributes", {})
        if marker.get("markerName") == "core_patch":
            data = marker["details"]["patch-data"]["payloads"][0]["data"]
            found.append(json.loads(base64.b64decode(data))["id"])
    return found


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_case_replays_without_nondeterminism(path: Path) -> None:
    """Cases running in production keep running after a deploy of today's workflow code."""
    replayer = engine_replayer()
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
