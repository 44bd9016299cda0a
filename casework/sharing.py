"""Sharing a task queue's work among the workers that serve it (issue 27).

A case opened by the door beside a worker (`casework up`) starts *eagerly*: Temporal hands the
new case's first workflow task straight back to the worker of the process that started it, and
the case then stays with that worker (its sticky cache), its local activities with it. Alone,
that saves a round trip on every open. With other workers on the queue (`casework worker
--join`, workers of a cluster), it kept every case on the first worker: joined workers got
almost nothing to do. So a start is eager only while this worker is the only one polling its
task queue; otherwise the first task goes to whichever worker polls for it, and the cases (and
their work) spread over all of them.

Who polls is asked of Temporal (DescribeTaskQueue), at most once per CHECK_EVERY seconds; a
worker that stopped stays listed by the server for a few minutes, during which starts are
simply not eager.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

CHECK_EVERY = 5.0
CHECK_TIMEOUT = timedelta(seconds=2)


class EagerWhenAlone:
    """`await eager()`: whether a start on `task_queue` should be eager (module docstring)."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue
        self.checked_at = -CHECK_EVERY
        self.alone = True
        self._lock = asyncio.Lock()

    async def __call__(self) -> bool:
        if time.monotonic() - self.checked_at < CHECK_EVERY:
            return self.alone
        async with self._lock:
            if time.monotonic() - self.checked_at >= CHECK_EVERY:
                self.alone = await self._alone()
                self.checked_at = time.monotonic()
        return self.alone

    async def _alone(self) -> bool:
        try:
            answer = await self.client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=self.client.namespace,
                    task_queue=TaskQueue(name=self.task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                ),
                timeout=CHECK_TIMEOUT,
            )
        except Exception:
            return self.alone  # as last known: an open must not fail over this
        others = {p.identity for p in answer.pollers} - {self.client.identity}
        return not others
