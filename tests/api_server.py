"""`casework api` as a deployment runs it: a process of its own, against the test's Temporal
server, database, key ring and state folder, with the test's worker doing the work. Tests talk
to it over HTTP with keys made in the test's database."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from casework.store import Store
from tests.cli_door import free_port
from tests.conftest import SETTLE_TIMEOUT, TEST_RING, Desk, binary, target_of
from tests.door_helpers import key_for
from tests.waiting import eventually_sync


class ApiServer:
    def __init__(self, url: str, process: subprocess.Popen[str], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


@contextlib.contextmanager
def api_server(
    store: Store,
    *,
    target: str,
    namespace: str,
    task_queue: str,
    state_dir: Path,
    extra_env: dict[str, str] | None = None,
) -> Iterator[ApiServer]:
    """`casework api --port <free>`; stopped (SIGTERM, then killed) afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "CASEWORK_"))}
    env.update(
        TEMPORAL_ADDRESS=target,
        TEMPORAL_NAMESPACE=namespace,
        CASEWORK_DB_URL=str(store.engine.url.render_as_string(hide_password=False)),
        CASEWORK_STATE_DIR=str(state_dir),
        CASEWORK_TASK_QUEUE=task_queue,
        CASEWORK_KEYRING=TEST_RING.to_json(),
        **(extra_env or {}),
    )
    log = state_dir.parent / f"api-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [binary("casework"), "api", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
    server = ApiServer(f"http://127.0.0.1:{port}", process, log)
    try:

        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"casework api exited {process.returncode}: {server.output()}")
            return httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200

        eventually_sync(
            healthy,
            every=0.1,
            ignoring=(httpx.HTTPError,),
            what=lambda: f"casework api to answer; it said: {server.output()}",
        )
        yield server
    finally:
        process.terminate()
        try:
            process.wait(SETTLE_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def api_server_beside(
    store: Store,
    dev_env: WorkflowEnvironment,
    desk: Desk,
    tmp_path: Path,
    extra_env: dict[str, str] | None = None,
) -> Iterator[ApiServer]:
    """`casework api` beside the test's worker: its dev server, namespace and task queue, a
    state folder in the test's folder."""
    with api_server(
        store,
        target=target_of(dev_env),
        namespace=dev_env.client.namespace,
        task_queue=desk.task_queue,
        state_dir=tmp_path / "state",
        extra_env=extra_env,
    ) as running:
        yield running


def client_for(store: Store, server: ApiServer, person: str) -> httpx.AsyncClient:
    """An HTTP client of the server holding a fresh API key of `person`."""
    return httpx.AsyncClient(
        base_url=server.url,
        headers={"Authorization": f"Bearer {key_for(store, person)}"},
        timeout=60,
    )
