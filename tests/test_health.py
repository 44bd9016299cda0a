"""Liveness and readiness (issue 27), as a load balancer and a process supervisor see them: the
door (`casework api`) and a worker (`casework worker --health-port`) of a deployment, on a
Temporal server and a PostgreSQL server of the test's own. Readiness fails while Temporal is
down and comes back when it does, fails while the database is down; liveness holds all along
(a restart would not help: the process is fine, what it depends on is not)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from casework import search_attributes
from tests.conftest import binary
from tests.postgres_cluster import PostgresCluster, PostgresUnavailable
from tests.test_up import CASEWORK, clean_env, free_port
from tests.waiting import eventually_sync
from tests.worker_processes import TEST_KEYRING

pytestmark = pytest.mark.timeout(300)
WAIT = 90.0


class TemporalServer:
    """`temporal server start-dev` on a port and a file of the test's, restartable on both,
    with the case search attributes registered (as a deployment registers them)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.db = folder / "temporal.db"
        self.log = folder / "temporal.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [binary("temporal"), "server", "start-dev", "--ip", "127.0.0.1"]
                + ["--port", str(self.port), "--headless", "--db-filename", str(self.db)]
                + ["--log-level", "error", *search_attributes.dev_server_flags()],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def check(url: str) -> tuple[int, dict[str, Any]]:
    try:
        answer = httpx.get(url, timeout=15)
    except httpx.HTTPError as e:
        return 0, {"error": type(e).__name__}
    return answer.status_code, answer.json()


def until(url: str, status: int) -> dict[str, Any]:
    """The body of `url`'s answer, once it answers `status`."""
    got = eventually_sync(
        lambda: check(url),
        WAIT,
        every=0.3,
        until=lambda got: got[0] == status,
        what=f"{url} to answer {status}",
    )
    return dict(got[1])


def test_readiness_follows_temporal_and_the_database_and_liveness_holds(tmp_path: Path) -> None:
    try:
        database = PostgresCluster.start()  # its own: this test stops it
    except PostgresUnavailable as e:
        pytest.exit(str(e), returncode=3)
    temporal = TemporalServer(tmp_path)
    temporal.start()
    door_port, health_port = free_port(), free_port()
    env = clean_env(
        TEMPORAL_ADDRESS=f"127.0.0.1:{temporal.port}",
        CASEWORK_DB_URL=database.new_database(),
        CASEWORK_STATE_DIR=str(tmp_path / "state"),
        CASEWORK_KEYRING_FILE=str(TEST_KEYRING),
        CASEWORK_LOG_FORMAT="json",
    )
    processes = []
    try:
        for args in (
            ["worker", "--health-port", str(health_port)],
            ["api", "--port", str(door_port)],
        ):
            log = (tmp_path / f"{args[0]}.log").open("wb")
            processes.append(
                subprocess.Popen([CASEWORK, *args], stdout=log, stderr=subprocess.STDOUT, env=env)
            )
        door, worker = f"http://127.0.0.1:{door_port}", f"http://127.0.0.1:{health_port}"
        for base in (door, worker):
            ready = until(f"{base}/readyz", 200)
            assert ready["checks"]["temporal"] == "ok" and ready["checks"]["database"] == "ok"
            assert until(f"{base}/livez", 200)["status"] == "ok"
        assert until(f"{worker}/readyz", 200)["checks"]["worker"] == "ok"

        temporal.stop()
        for base in (door, worker):
            failing = until(f"{base}/readyz", 503)
            assert failing["checks"]["temporal"].startswith(("unreachable", "no answer")), failing
            assert failing["checks"]["database"] == "ok", failing
            assert check(f"{base}/livez")[0] == 200, "liveness does not depend on Temporal"

        temporal.start()  # the same port and file: it comes back, and so do they
        for base in (door, worker):
            until(f"{base}/readyz", 200)

        database.stop()
        for base in (door, worker):
            failing = until(f"{base}/readyz", 503)
            assert failing["checks"]["database"].startswith(("unreachable", "no answer")), failing
            assert check(f"{base}/livez")[0] == 200, "liveness does not depend on the database"
        assert check(f"{worker}/nothing")[0] == 404
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        temporal.stop()
        database.stop()
