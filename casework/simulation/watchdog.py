"""The run's watchdog: if nothing moves (no activity of the engine or the crowd starts or ends,
the server's clock does not jump) for `stall` of real time, it says what it sees and stops the
run. It judges no progress, never duration: a slow machine that keeps moving is never stopped.

What it reports: whether the server's clock is locked (running in real time while nothing is
outstanding: a timer far away is being waited for in real time) or standing still; the crowd
workflow's state, its pending activities and its workflow task's failures; how many activities
are running in this process.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import google.protobuf.empty_pb2
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

POLL = 2.0
"""Seconds between two looks."""
DEFAULT_STALL = timedelta(minutes=2)


class EngineStalled(Exception):
    """The engine stopped moving; the message says what the watchdog saw."""


@dataclass
class Heartbeat:
    """Activities started, ended and running in this process (the engine's and the crowd's)."""

    beats: int = 0
    running: int = 0
    names: dict[str, int] = field(default_factory=dict)

    def interceptor(self) -> Interceptor:
        beat = self

        class Counting(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:
                name = activity.info().activity_type
                beat.beats += 1
                beat.running += 1
                beat.names[name] = beat.names.get(name, 0) + 1
                try:
                    return await self.next.execute_activity(input)
                finally:
                    beat.beats += 1
                    beat.running -= 1
                    beat.names[name] -= 1

        class Counter(Interceptor):
            def intercept_activity(
                self, next: ActivityInboundInterceptor
            ) -> ActivityInboundInterceptor:
                return Counting(next)

        return Counter()


async def server_time(client: Client) -> datetime:
    answer = await client.test_service.get_current_time(google.protobuf.empty_pb2.Empty())
    return answer.time.ToDatetime().replace(tzinfo=UTC)


async def watch(client: Client, crowd_id: str, heartbeat: Heartbeat, stall: timedelta) -> None:
    """Return never; raise EngineStalled once nothing has moved for `stall`."""
    beats, clock = heartbeat.beats, await server_time(client)
    quiet_since = time.monotonic()
    while True:
        looked = time.monotonic()
        await asyncio.sleep(POLL)
        now = await server_time(client)
        jumped = now - clock > timedelta(seconds=time.monotonic() - looked + 1)
        clock = now
        if heartbeat.beats != beats or jumped:
            beats, quiet_since = heartbeat.beats, time.monotonic()
            continue
        still = time.monotonic() - quiet_since
        if still >= stall.total_seconds():
            raise EngineStalled(await diagnose(client, crowd_id, heartbeat, still))


async def diagnose(client: Client, crowd_id: str, heartbeat: Heartbeat, still: float) -> str:
    lines = [f"nothing moved for {still:.0f} s of real time:"]
    first = await server_time(client)
    await asyncio.sleep(POLL)
    second = await server_time(client)
    ran = (second - first).total_seconds()
    if ran <= 0:
        lines.append("- the server's clock stands still")
    elif ran < 10 * POLL:
        lines.append(
            f"- the server's clock is locked (it ran {ran:.1f} s in {POLL:.0f} s): the server "
            "waits in real time for its next timer, as it does while something is outstanding"
        )
    else:
        lines.append(f"- the server's clock jumps ({ran:.0f} s in {POLL:.0f} s)")
    lines.append(f"- the server's clock: {second:%a %Y-%m-%d %H:%M:%S} UTC")
    running = {k: v for k, v in heartbeat.names.items() if v}
    lines.append(f"- activities running in this process: {heartbeat.running} {running or ''}")
    try:
        lines.extend(await _crowd_state(client, crowd_id))
    except Exception as e:  # the diagnosis must not hide the stall behind its own failure
        lines.append(f"- the crowd workflow could not be described: {e}")
    return "\n".join(lines)


async def _crowd_state(client: Client, crowd_id: str) -> list[str]:
    handle = client.get_workflow_handle(crowd_id)
    described = await handle.describe()
    raw = described.raw_description
    lines = [f"- the crowd workflow: {described.status.name if described.status else '?'}"]
    for pending in raw.pending_activities:
        failure = pending.last_failure.message if pending.HasField("last_failure") else ""
        lines.append(
            f"- its activity {pending.activity_type.name} is pending (attempt "
            f"{pending.attempt}){': ' + failure if failure else ''}"
        )
    if raw.HasField("pending_workflow_task"):
        task = raw.pending_workflow_task
        lines.append(f"- its workflow task is pending (attempt {task.attempt})")
    failures = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failures.append(event.workflow_task_failed_event_attributes.failure.message)
    if failures:
        lines.append(f"- its workflow task failed {len(failures)} times, last: {failures[-1]}")
    return lines
