"""The recorder the scenarios act through, and what every scenario shares: the test key ring,
the policy in seconds, the case options, the stored log they attach."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from casework.client import intake_id, open_case
from casework.domain.actions import ActionResult, ViewRequest
from casework.domain.models import CaseView, OpenCaseRequest
from casework.domain.sla import policy_with
from casework.identity.interceptors import PrincipalHeaders, acting
from casework.identity.keyring import KeyRing
from casework.identity.principal import Principal

HISTORIES = Path(__file__).resolve().parents[2] / "tests" / "histories"
SKIPPED_TIME_TTL = timedelta(days=3650)
"""Tokens of test clients: the time-skipping server's clock runs days ahead of the wall clock
(tests/test_identity.py checks expiry with tokens of its own)."""
TEST_RING = KeyRing.from_json(
    (HISTORIES.parent / "data" / "test-keyring.json").read_text(), "tests"
)
"""The test-only ring the histories' tokens are signed with (tests/conftest.py replays them
with the same one)."""
POLICY = policy_with(
    {"GOLD": {"P1": "2s", "P3": "480s"}, "PLATINUM": {"P1": "15s", "P3": "240s"}},
    every_tier={"P2": "60s"},
    routing_retry="1s",
    escalation_acknowledge_within="2s",
)
"""Seconds, so that the breach case breaches in real time: the recorder acts through updates and
queries, which do not skip time on the test server."""
CASE_OPTIONS: dict[str, Any] = {"index_search_attributes": False}

STORED_LOG = b"ike debug: phase 2 negotiation failed\n"
"""The file the scenarios attach: the recording engine's attachment store holds it (U5: a case
attaches only a stored file)."""
STORED_SHA = hashlib.sha256(STORED_LOG).hexdigest()


class Recorder:
    def __init__(self, env: WorkflowEnvironment, task_queue: str, out: Path, tmp: Path) -> None:
        self.env = env
        config = env.client.config()
        config["interceptors"] = [PrincipalHeaders(TEST_RING, ttl=SKIPPED_TIME_TTL)]
        self.client = Client(**config)  # sends as the door does, signed for who acts
        self.task_queue = task_queue
        self.out = out
        self.tmp = tmp
        """A throw-away folder for what a scenario needs of its own (the relay's database)."""
        self.opener: Any = None
        """The worker's intake in this process (`worker.opener`), as `casework up` opens."""

    async def open(self, name: str, options: dict[str, Any] | None = None, **fields: Any) -> str:
        request = OpenCaseRequest.model_validate(
            {
                "request_id": f"{name}-{uuid.uuid4().hex[:8]}",
                "channel": "web",
                "account_id": "acme",
                "contact_id": "acme-alice",
                "product": "FortiGate",
                "version": "7.4.3",
                "priority": "P2",
                "description": "HA cluster fails over every few minutes",
                **fields,
            }
        )
        result = await open_case(
            self.client,
            request,
            task_queue=self.task_queue,
            case_options={**CASE_OPTIONS, **(options or {})},
        )
        await self.save(
            f"{name}-intake", self.client.get_workflow_handle(intake_id(request.request_id))
        )
        assert result.case_id, f"{request.account_id} was referred to a partner (P2)"
        return result.case_id

    def case(self, case_id: str, run_id: str | None = None) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(case_id, run_id=run_id)

    async def view(self, case_id: str) -> CaseView:
        return await self.case(case_id).query("view", ViewRequest(), result_type=CaseView)

    async def until(self, case_id: str, predicate: Callable[[CaseView], bool]) -> CaseView:
        for _ in range(400):
            view = await self.view(case_id)
            if predicate(view):
                return view
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{case_id} never got there: {view.state}")

    async def act(self, case_id: str, action: str, **payload: Any) -> ActionResult:
        with acting(Principal(id=payload["actor"], via="api-key")):
            return await self.case(case_id).execute_update(
                action, payload, result_type=ActionResult
            )

    async def refused(self, case_id: str, action: str, payload: Any) -> None:
        try:
            actor = payload.get("actor") if isinstance(payload, dict) else None
            with acting(Principal(id=actor if isinstance(actor, str) else "nobody")):
                await self.case(case_id).execute_update(action, payload, result_type=ActionResult)
        except WorkflowUpdateFailedError:
            return
        raise RuntimeError(f"{action} {payload} was not refused")

    async def save(self, name: str, handle: WorkflowHandle[Any, Any]) -> None:
        history = await handle.fetch_history()
        path = self.out / f"{name}.json"
        # one event per line: small files, and a re-recording diffs event by event
        events = history.to_json_dict()["events"]
        lines = ",\n".join(json.dumps(e, separators=(",", ":")) for e in events)
        # the workflow id too: tokens are signed for one case, so a replay needs its real id
        head = json.dumps({"workflowId": history.workflow_id})[:-1]
        path.write_text(head + ', "events": [\n' + lines + "\n]}\n", encoding="utf-8")
        print(f"{path.relative_to(self.out.parent.parent)}: {len(history.events)} events")

    async def finished(self, name: str, case_id: str, kind: str = "-case") -> None:
        handle = self.client.get_workflow_handle(case_id, result_type=CaseView)
        view = await handle.result()
        assert view.state == "closed", view.state
        await self.save(f"{name}{kind}", self.case(case_id))


def at_level(level: str) -> Callable[[CaseView], bool]:
    return lambda v: v.state == "in_progress" and v.level == level


def owner_of(view: CaseView) -> str:
    assert view.owner is not None, f"{view.case_id} has no owner"
    return view.owner.engineer_id
