"""A case read while it works replays as it ran (a recorded history that did not replay,
seen while re-recording the histories for release 0.5.0).

The Case Center, `casework show` and `temporal workflow query` read cases by query all day.
A query that lands while a workflow task runs a local activity makes the worker end that
task early to answer it, with the local activity's marker, and hand the activity's answer to
the workflow only in the next task, together with whatever signal or update came
meanwhile; a replay hands it over alone, in the first. Whatever the case did next came in
another order on replay: a nondeterminism error, and the case stuck on every worker that had
to replay it (after a restart, or once evicted from a worker's cache). Half the runs of this
test failed so, on the dev server and on the time-skipping one, before release 0.5.0 took
every local activity out of the case (workflows/case/context.py, "Who may write").
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from temporalio.common import HeaderCodecBehavior
from temporalio.worker import Replayer

from casework.domain.actions import ViewRequest
from casework.domain.models import CaseView
from casework.identity.interceptors import PrincipalCheck
from tests.conftest import CONVERTER, TEST_RING, Desk, as_person
from worker import WORKFLOW_RUNNER, WORKFLOWS

pytestmark = pytest.mark.timeout(120)

COMMENTS = 12


async def read_all_the_time(desk: Desk, case_id: str) -> None:
    """What a busy Case Center does to a case: ask its view again and again."""
    handle = desk.case(case_id)
    while True:
        with contextlib.suppress(Exception):
            await handle.query("view", ViewRequest(viewer="operator"), result_type=CaseView)
        await asyncio.sleep(0)  # a client asking as fast as the server answers


async def test_a_case_read_while_it_writes_replays_without_nondeterminism(dev_desk: Desk) -> None:
    """S2/E4 on a case that many people read: comments by signal and by update, the owner's
    response, a priority change, each while queries keep landing; the history then replays
    on today's code without a nondeterminism error (a worker that restarts, or evicts the case
    from its cache, can carry on with it)."""
    desk = dev_desk  # the server a deployment runs, with its own query handling
    case_id = await desk.open()
    owner = await desk.until(case_id, lambda v: v.owner is not None)
    assert owner.owner is not None
    readers = [asyncio.create_task(read_all_the_time(desk, case_id)) for _ in range(3)]
    try:
        handle = desk.case(case_id)
        with as_person("acme-alice"):
            for n in range(COMMENTS):  # several to a task: signals that come together
                await handle.signal(
                    "act", {"action": "comment", "actor": "acme-alice", "text": f"note {n}"}
                )
        await desk.act(case_id, "respond", actor=owner.owner.engineer_id, text="on it")
        await desk.act(case_id, "change_priority", actor="acme-alice", priority="P3", reason="ok")
        for n in range(4):
            await desk.act(case_id, "comment", actor="acme-alice", text=f"more {n}")
        await desk.until(case_id, lambda v: sum(e.kind == "comment" for e in v.feed) >= 16)
    finally:
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    await desk.settle(case_id)

    history = await desk.case(case_id).fetch_history()
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=CONVERTER,
        interceptors=[PrincipalCheck(TEST_RING)],
        workflow_runner=WORKFLOW_RUNNER,
        header_codec_behavior=HeaderCodecBehavior.CODEC,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{case_id}: {result.replay_failure}"
