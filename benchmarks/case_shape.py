"""What one case costs Temporal (issue 12): the history events, workflow tasks, activities (by
name) and search-attribute upserts of one lifecycle (open, first response, resolve, close),
for the intake and the case workflows.

    python benchmarks/case_shape.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from casework import search_attributes
from casework.client import open_case
from casework.codec import data_converter
from casework.domain.actions import ActionResult
from casework.domain.models import CaseView, Channel, OpenCaseRequest, Priority
from casework.domain.sla import DEFAULT_POLICY
from casework.engine import load_directory
from casework.identity.interceptors import PrincipalHeaders, acting
from casework.identity.keyring import fresh_ring
from casework.identity.principal import Principal
from casework.settings import DEMO_DIRECTORY
from casework.store import Store
from worker import ACTIVITY_THREADS, activities_for, build_worker

sys.path.insert(0, str(Path(__file__).parent))
from bench_tools import binary  # noqa: E402


def shape(events: list) -> dict[str, object]:  # type: ignore[type-arg]
    kinds = Counter(EventType.Name(e.event_type) for e in events)
    activities = Counter(
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
    markers = Counter(
        e.marker_recorded_event_attributes.marker_name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    )
    upserted = [
        sorted(
            e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        )
        for e in events
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    return {
        "events": len(events),
        "upserted": upserted,
        "workflow tasks": kinds["EVENT_TYPE_WORKFLOW_TASK_COMPLETED"],
        "activities": dict(activities),
        "markers": dict(markers),
        "upserts": kinds["EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"],
        "kinds": dict(kinds),
    }


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ring = fresh_ring()
        store = Store(f"sqlite:///{tmp}/casework.db", ring)
        store.directory.replace(load_directory(DEMO_DIRECTORY))
        env = await WorkflowEnvironment.start_local(
            data_converter=data_converter(ring, store.realms.lookup),
            dev_server_existing_path=binary("temporal"),
            search_attributes=search_attributes.ALL,
        )
        async with env:
            config = env.client.config()
            config["interceptors"] = [PrincipalHeaders(ring)]
            door = Client(**config)
            queue = f"shape-{uuid.uuid4().hex[:8]}"
            worker = build_worker(
                env.client,
                task_queue=queue,
                activities=activities_for(store, DEFAULT_POLICY),
                ring=ring,
                executor=ThreadPoolExecutor(ACTIVITY_THREADS),
            )
            async with worker:
                request = OpenCaseRequest(
                    request_id=f"shape-{uuid.uuid4().hex}",
                    channel=Channel.WEB,
                    account_id="acme",
                    contact_id="acme-alice",
                    product="FortiGate",
                    version="7.4.3",
                    priority=Priority.P3,
                    description="one case's shape",
                )
                opened = await open_case(door, request, task_queue=queue)
                handle = door.get_workflow_handle(opened.case_id)
                owner = None
                while owner is None:
                    view = await handle.query(
                        "view", {"viewer": "acme-alice"}, result_type=CaseView
                    )
                    owner = view.owner.engineer_id if view.owner else None
                    await asyncio.sleep(0.05)
                for action, who, fields in (
                    ("respond", owner, {"text": "looking"}),
                    ("resolve", owner, {"resolution": "fixed"}),
                    ("close", "acme-alice", {"reason": "thanks"}),
                ):
                    with acting(Principal(id=who, via="api-key")):
                        await handle.execute_update(action, fields, result_type=ActionResult)
                await handle.result()
                workflows = [
                    f"intake-{request.request_id}",
                    opened.case_id,
                ]
                for wid in workflows:
                    try:
                        history = await env.client.get_workflow_handle(wid).fetch_history()
                    except Exception as error:  # noqa: BLE001 - a shape without an intake
                        print(f"{wid}: {error}")
                        continue
                    print(wid)
                    for key, value in shape(list(history.events)).items():
                        print(f"  {key}: {value}")
        store.dispose()


if __name__ == "__main__":
    asyncio.run(main())
