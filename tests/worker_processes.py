"""`casework worker` processes, as an operator runs them: several on one task queue and one
database, each its own process (so one can be killed with SIGKILL), logging JSON lines to a
file. Used by tests/test_several_workers.py and benchmarks/workers.py."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from casework.yamlfiles import dump_text
from tests.conftest import policy_in_seconds
from tests.waiting import eventually

TEST_KEYRING = Path(__file__).parent / "data" / "test-keyring.json"
SECONDS_POLICY = dump_text(policy_in_seconds().model_dump(mode="json", exclude_none=True))
"""S5: the policy file of a worker process, targets in seconds so that breaches happen within
a test (tests/conftest.py's `policy_in_seconds`)."""


def casework_program() -> list[str]:
    """The `casework` command of this environment."""
    found = Path(sys.prefix, "bin", "casework")
    path = str(found) if found.exists() else shutil.which("casework")
    if not path:
        raise SystemExit("casework is not installed in this environment: pip install -e .")
    return [path]


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(
        cls,
        name: str,
        *,
        folder: Path,
        temporal: str,
        task_queue: str,
        db_url: str,
        policy: Path | None = None,
        extra_env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        program: list[str] | None = None,
    ) -> WorkerProcess:
        """`casework worker` (or `program`, which takes the same arguments and environment)
        with its own state folder under `folder`, the test key ring, and JSON logs in
        `folder/<name>.log`."""
        state = folder / f"state-{name}"
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": temporal,
            "TEMPORAL_NAMESPACE": "default",
            "CASEWORK_STATE_DIR": str(state),
            "CASEWORK_DB_URL": db_url,
            "CASEWORK_TASK_QUEUE": task_queue,
            "CASEWORK_KEYRING_FILE": str(TEST_KEYRING),
            "CASEWORK_LOG_FORMAT": "json",
            **({"CASEWORK_POLICY": str(policy)} if policy else {}),
            **(extra_env or {}),
        }
        for variable in ("CASEWORK_PROFILE", "CASEWORK_API_KEY", "CASEWORK_KEYRING"):
            env.pop(variable, None)
        log = folder / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*(program or [*casework_program(), "worker"]), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        return cls(name=name, process=process, log=log)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to the server; its tasks time out there."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, grace: float = 15.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def said(self) -> str:
        return self.log.read_text(errors="replace")


async def pollers(client: Client, task_queue: str) -> set[str]:
    """The identities polling the task queue's workflow tasks now."""
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return {p.identity for p in answer.pollers}


async def until_polling(
    client: Client, task_queue: str, workers: list[WorkerProcess], timeout: float = 90.0
) -> None:
    """Wait until each worker polls the queue (its identity is `<pid>@<host>`)."""
    polling: set[str] = set()

    async def all_polling() -> bool:
        nonlocal polling
        polling = {identity.split("@")[0] for identity in await pollers(client, task_queue)}
        if all(str(w.process.pid) in polling for w in workers):
            return True
        for w in workers:
            if w.process.poll() is not None:
                raise AssertionError(f"worker {w.name} stopped at start: {w.said()[-3000:]}")
        return False

    await eventually(
        all_polling,
        timeout,
        every=0.2,
        what=lambda: f"every worker polling {task_queue}; polling: {sorted(polling)}",
    )
