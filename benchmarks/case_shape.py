"""What one case costs Temporal (issue 12): the history events, workflow tasks, activities (by
name) and search-attribute upserts of one lifecycle (open, first response, resolve, close),
for the intake and the case workflows.

    python benchmarks/case_shape.py
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.api.enums.v1 import EventType

sys.path.insert(0, str(Path(__file__).parent))
from bench_engines import local_engine  # noqa: E402
from bench_tools import acme_request, act, closing_steps, until_routed  # noqa: E402

from casework.client import open_case  # noqa: E402
from worker import ACTIVITY_THREADS  # noqa: E402


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
    async with local_engine("memory") as engine:
        door = engine.door()
        queue = f"shape-{uuid.uuid4().hex[:8]}"
        async with engine.worker(queue, executor=ThreadPoolExecutor(ACTIVITY_THREADS)):
            request = acme_request(0, "shape", "one case's shape")
            opened = await open_case(door, request, task_queue=queue)
            handle = door.get_workflow_handle(opened.case_id)
            owner = await until_routed(handle)
            for action, who, fields in closing_steps(owner):
                await act(handle, action, who, fields)
            await handle.result()
            workflows = [
                f"intake-{request.request_id}",
                opened.case_id,
            ]
            for wid in workflows:
                try:
                    history = await engine.client.get_workflow_handle(wid).fetch_history()
                except Exception as error:  # noqa: BLE001 - a shape without an intake
                    print(f"{wid}: {error}")
                    continue
                print(wid)
                for key, value in shape(list(history.events)).items():
                    print(f"  {key}: {value}")


if __name__ == "__main__":
    asyncio.run(main())
