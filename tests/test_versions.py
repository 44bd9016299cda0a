"""Worker Versioning (issue 28) on the dev server: two builds of casework on one task queue, a
case pinned to the first, a rollout to the second (`casework.versions.promote`), and what an
operator reads meanwhile (`describe_versions`).

The two builds run today's code under two build ids (the rollout test of the issue makes the
second one incompatible); each test has a deployment and a task queue of its own."""

from __future__ import annotations

import contextlib
import json
import math
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from casework.attachments import AttachmentStore
from casework.domain.sla import DEFAULT_POLICY
from casework.settings import Settings
from casework.store import Store
from casework.versions import (
    VersionsRefused,
    VersionView,
    describe_versions,
    promote,
)
from tests.conftest import (
    ENGINE_RING,
    TEST_RING,
    TIME_SCALE,
    Desk,
    eventually,
    running,
    signed,
    target_of,
)
from tests.door_helpers import bearer, door, key_for
from tests.test_cli import cli
from tests.waiting import source_of
from worker import activities_for, build_worker

pytestmark = pytest.mark.timeout(150)

V1, V2 = "1.0.0", "2.0.0"
MOVE_WITHIN = 20.0
"""Real seconds a case may take to move once asked (it takes one or two on an idle machine)."""


@dataclass
class Rollout:
    """One deployment and task queue on the session's dev server, and its workers."""

    client: Client
    settings: Settings
    desk: Desk
    store: Store
    files: AttachmentStore
    stack: contextlib.AsyncExitStack

    async def start(self, build_id: str) -> Worker:
        """A worker of `build_id` (today's code) on the rollout's task queue."""
        worker = build_worker(
            self.client,
            task_queue=self.settings.task_queue,
            activities=activities_for(self.store, DEFAULT_POLICY, attachments=self.files),
            ring=TEST_RING,
            version=WorkerDeploymentVersion(self.settings.deployment_name, build_id),
        )
        return await self.stack.enter_async_context(running(worker))

    async def promote(self, build_id: str, ramp: float | None = None) -> Any:
        # the server's own deployment workflows route the task queues: beside a second full
        # run (load 8 on 2 cores) once not within casework's 30 s, so the tests wait longer
        return await promote(
            self.client,
            self.settings,
            build_id,
            ramp,
            wait_for_workers=30 * TIME_SCALE,
            wait_for_routing=60 * TIME_SCALE,
        )

    async def versions(self) -> dict[str, VersionView]:
        return {v.name: v for v in await describe_versions(self.client, self.settings)}

    async def build_of(self, case_id: str) -> str:
        """The build the case's current run is pinned to ('' before its first task)."""
        described = await self.desk.case(case_id).describe()
        info = described.raw_description.workflow_execution_info.versioning_info
        return info.deployment_version.build_id


@pytest_asyncio.fixture
async def rollout(
    dev_env: WorkflowEnvironment, store: Store, files: AttachmentStore, tmp_path: Path
) -> AsyncIterator[Rollout]:
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        state_dir=tmp_path / "state",
        db_url=store.url,
        directory_file=None,
        policy_file=None,
        task_queue=f"tq-{tag}",
        deployment_name=f"casework-{tag}",
        build_id=V1,
    )
    async with contextlib.AsyncExitStack() as stack:
        desk = Desk(signed(dev_env.client), settings.task_queue, {})
        found = Rollout(dev_env.client, settings, desk, store, files, stack)
        try:
            yield found
        finally:
            await desk.tidy_up()  # while the workers still run


async def until_on(rollout: Rollout, case_id: str, build_id: str) -> float:
    """Real seconds until the case's run is on `build_id`."""
    started = time.monotonic()
    await eventually(
        lambda: rollout.build_of(case_id),
        MOVE_WITHIN,
        every=0.1,
        until=lambda found: found == build_id,
        what=f"{case_id} on {build_id}",
    )
    return time.monotonic() - started


async def test_a_case_moves_to_the_promoted_version_with_its_state_and_feed(
    rollout: Rollout,
) -> None:
    """A case pinned to version 1 rolls over onto version 2 within seconds of the promotion,
    carrying its owner, state and clock, its feed whole; `casework versions` counts it on 1,
    then on 2, and says 1 may shut down once nothing runs on it."""
    desk = rollout.desk
    await rollout.start(V1)
    first = await rollout.promote(V1)
    assert (first.current, first.build_id, first.propagated) == (True, V1, True)
    case_id = await desk.open(priority="P2")
    await desk.until(case_id, lambda v: v.state == "in_progress")
    await desk.act(case_id, "respond", actor="cc-dana", text="Looking at it")
    await desk.act(case_id, "comment", actor="acme-alice", text="Thanks, logs follow")
    before = await desk.until(case_id, lambda v: v.feed[-1].kind == "comment")
    assert await rollout.build_of(case_id) == V1
    on_v1 = (await rollout.versions())[V1]
    assert (on_v1.current, on_v1.open_cases, on_v1.may_shut_down) == (True, 1, False)

    await rollout.start(V2)
    promoted = await rollout.promote(V2)
    assert (promoted.current, promoted.previous_current, promoted.propagated) == (True, V1, True)
    assert promoted.cases_asked == 1 and promoted.failed == 0
    await until_on(rollout, case_id, V2)

    after = await desk.until(case_id, lambda v: v.feed[-1].kind == "continued")
    assert after.feed[-1].text == f"history rolled over, from version {V1} to {V2}; state carried"
    assert (after.state, after.owner, after.sla, after.priority) == (
        before.state,
        before.owner,
        before.sla,
        before.priority,
    )
    assert [(e.kind, e.text) for e in after.feed[:-1]] == [(e.kind, e.text) for e in before.feed]
    assert after.feed_total == before.feed_total + 1
    stored = await eventually(
        lambda: (
            (rows := rollout.store.feed.page(case_id, limit=100))
            and len(rows) == after.feed_total
            and rows
        )
    )
    assert [r["kind"] for r in stored] == [e.kind for e in after.feed]

    # the case works on version 2 as it did on 1
    await desk.act(case_id, "comment", actor="acme-alice", text="Here they are")
    assert (await desk.until(case_id, lambda v: v.feed[-1].kind == "comment")).state == (
        "in_progress"
    )
    versions = await eventually_versions(
        rollout, lambda v: v[V1].open_workflows == 0 and v[V2].open_cases == 1
    )
    assert versions[V1].may_shut_down and not versions[V1].current
    assert versions[V2].current and not versions[V2].may_shut_down


async def eventually_versions(rollout: Rollout, check: Any) -> dict[str, VersionView]:
    """`describe_versions` once `check` holds (visibility follows the runs shortly)."""
    versions: dict[str, VersionView] = await eventually(
        rollout.versions, every=0.2, until=check, what=f"versions to match {source_of(check)}"
    )
    return versions


async def test_a_queued_case_leaves_its_routing_wait_to_move(rollout: Rollout) -> None:
    """A case waiting in the queue (no L2 engineer with its product's skill, next routing
    attempt minutes away) moves within seconds, still queued, and routes on version 2."""
    desk = rollout.desk
    await rollout.start(V1)
    await rollout.promote(V1)
    case_id = await desk.open(product="FortiManager")
    await desk.until(case_id, lambda v: v.state == "in_progress")
    await desk.act(case_id, "escalate", actor="cc-dana", reason="L1 please")
    await desk.until(case_id, lambda v: v.owner is not None and v.owner.engineer_id == "gsc-erin")
    await desk.act(case_id, "escalate", actor="gsc-erin", reason="L2 please")
    await desk.until(case_id, lambda v: v.feed[-1].kind == "waiting_in_queue")
    assert DEFAULT_POLICY.routing_retry.total_seconds() >= 60  # the wait it leaves is long

    await rollout.start(V2)
    await rollout.promote(V2)
    took = await until_on(rollout, case_id, V2)
    assert took < MOVE_WITHIN
    moved = await desk.until(
        case_id, lambda v: v.feed[-1].kind in ("continued", "waiting_in_queue")
    )
    assert (moved.state, moved.level, moved.owner) == ("queued", "L2", None)
    kinds = [e.kind for e in moved.feed]
    assert kinds.count("continued") == 1 and kinds.index("continued") > kinds.index("escalate")


async def test_a_ramp_shows_as_ramping_and_a_bad_promote_changes_nothing(
    rollout: Rollout,
) -> None:
    """A ramp is listed as ramping with its percentage beside the current version; a build no
    worker ever ran, a malformed build id and a ramp out of range are refused, saying what to
    do, and change nothing."""
    await rollout.start(V1)
    await rollout.promote(V1)
    await rollout.start(V2)
    ramped = await rollout.promote(V2, ramp=25)
    assert (ramped.current, ramped.ramp_percentage) == (False, 25.0)
    versions = await rollout.versions()
    assert (versions[V2].ramping, versions[V2].ramp_percentage, versions[V2].current) == (
        True,
        25.0,
        False,
    )
    assert versions[V1].current and not versions[V2].may_shut_down

    with pytest.raises(VersionsRefused, match="no worker of build 9.9.9 has ever polled"):
        await promote(rollout.client, rollout.settings, "9.9.9")
    for bad in ("", "two words", "casework:2.0.0", "x" * 101):
        with pytest.raises(VersionsRefused, match="build"):
            await promote(rollout.client, rollout.settings, bad)
    for ramp in (0, -5, 100.5, math.nan, math.inf):
        with pytest.raises(VersionsRefused, match="percentage"):
            await promote(rollout.client, rollout.settings, V2, ramp=ramp)
    other = replace(rollout.settings, deployment_name=f"{rollout.settings.deployment_name}-x")
    with pytest.raises(VersionsRefused, match="has ever polled deployment"):
        await promote(rollout.client, other, V1)
    unchanged = await rollout.versions()
    assert [(v.name, v.current, v.ramping, v.ramp_percentage) for v in unchanged.values()] == [
        (v.name, v.current, v.ramping, v.ramp_percentage) for v in versions.values()
    ]


async def test_operators_see_and_promote_versions_through_the_door_and_the_cli(
    rollout: Rollout, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dev_env: WorkflowEnvironment
) -> None:
    """The door's versions routes are the operators' (CASEWORK_OPERATORS), refuse a bad body
    naming the field and a build no worker runs, changing nothing; `casework versions promote`
    moves the case and `casework versions` then says version 1 may be shut down."""
    desk, store = rollout.desk, rollout.store
    await rollout.start(V1)
    await rollout.promote(V1)
    case_id = await desk.open(priority="P3")
    await desk.until(case_id, lambda v: v.state == "in_progress")
    await rollout.start(V2)
    monkeypatch.setenv("CASEWORK_DEPLOYMENT_NAME", rollout.settings.deployment_name)
    monkeypatch.setenv("CASEWORK_OPERATORS", "em-jon")
    operator, engineer = bearer(key_for(store, "em-jon")), bearer(key_for(store, "cc-dana"))
    async with door(store, desk, tmp_path) as http:
        refused = await http.get("/v1/versions", headers=engineer)
        assert refused.status_code == 403 and "CASEWORK_OPERATORS" in refused.text
        listed = {
            v["build_id"]: v for v in (await http.get("/v1/versions", headers=operator)).json()
        }
        assert (listed[V1]["current"], listed[V1]["open_cases"]) == (True, 1)
        assert (listed[V2]["current"], listed[V2]["open_cases"]) == (False, 0)
        for body, status, said in (
            ({"build_id": "9.9.9"}, 409, "no worker of build 9.9.9 has ever polled"),
            ({"build_id": V2, "ramp": 150}, 422, "ramp"),
            ({"build_id": V2, "ramp": "lots"}, 422, "ramp"),
            ({"build": V2}, 422, "build"),
            ({"build_id": "two words"}, 422, "is not a build id"),
        ):
            answer = await http.post("/v1/versions/promote", json=body, headers=operator)
            assert answer.status_code == status and said in answer.json()["detail"], answer.text
        not_json = await http.post("/v1/versions/promote", content=b"2.0.0", headers=operator)
        assert not_json.status_code == 422
        nobody = await http.post("/v1/versions/promote", json={"build_id": V2}, headers=engineer)
        assert nobody.status_code == 403
    assert await rollout.build_of(case_id) == V1 and (await rollout.versions())[V1].current

    for name, value in {
        "TEMPORAL_ADDRESS": target_of(dev_env),
        "TEMPORAL_NAMESPACE": "default",
        "CASEWORK_TASK_QUEUE": rollout.settings.task_queue,
        "CASEWORK_DB_URL": store.url,
        "CASEWORK_STATE_DIR": str(tmp_path / "state"),
        "CASEWORK_KEYRING": ENGINE_RING.to_json(),
    }.items():
        monkeypatch.setenv(name, value)
    unknown = await cli("versions", "promote", "9.9.9")
    assert unknown.exit_code == 1 and "no worker of build 9.9.9" in unknown.stderr
    promoted = await cli("versions", "promote", V2, "--json")
    assert promoted.exit_code == 0, promoted.output
    assert json.loads(promoted.stdout)["cases_asked"] == 1
    await until_on(rollout, case_id, V2)
    await eventually_versions(rollout, lambda v: v[V1].may_shut_down)
    table = await cli("versions")
    assert table.exit_code == 0, table.output
    assert f"{V1} may be shut down" in table.stdout
    rows = {r["build_id"]: r for r in json.loads((await cli("versions", "--json")).stdout)}
    assert (rows[V2]["current"], rows[V2]["open_cases"], rows[V1]["may_shut_down"]) == (
        True,
        1,
        True,
    )
