"""Workers that join the right engine (issue 27), on PostgreSQL: `casework up --database
postgresql+psycopg://...`, then `casework worker --join` and the operator's commands on its
state folder, as the README shows them, with no other flag or variable.

Each finds the engine's database, Temporal, namespace and task queue in its lock (a joined
worker once opened a new SQLite file in the folder and served the engine's task queue from it;
`casework webhooks add` wrote where no relay read); told another database or Temporal, it is
refused with the reason and starts nothing. And the joined workers share the work: cases
opened through the engine's door are worked by every worker (their workflow tasks' identities
in the histories), where before the engine's own worker kept them all. Run with `-s` to see
each worker's share."""

from __future__ import annotations

import subprocess
import tomllib
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.postgres_cluster import PostgresCluster
from tests.test_up import CASEWORK, Engine, clean_env, engines, free_port  # noqa: F401
from tests.worker_processes import until_polling

pytestmark = pytest.mark.timeout(300)
CASES = 24
"""Cases opened through the door: with three workers each taking a share at random, the chance
that one gets none of 24 is below 1 in 10,000."""


class Joined:
    """`casework worker --join` with only the state folder in its environment."""

    def __init__(self, name: str, state: Path, folder: Path, *args: str, **env: str) -> None:
        self.name = name
        self.log = folder / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [CASEWORK, "worker", "--join", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=clean_env(CASEWORK_STATE_DIR=str(state), CASEWORK_LOG_FORMAT="json", **env),
                start_new_session=True,
            )

    def said(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def casework(state: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CASEWORK, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(CASEWORK_STATE_DIR=str(state), **env),
    )


def refused(state: Path, folder: Path, *args: str, **env: str) -> str:
    """A joining worker told otherwise: it exits at once, saying why, having started nothing."""
    worker = Joined(f"refused-{uuid.uuid4().hex[:6]}", state, folder, *args, **env)
    assert worker.process.wait(60) == 1, worker.said()
    return worker.said()


async def workflow_tasks_by_worker(address: str, case_ids: list[str]) -> Counter[str]:
    """Who completed each workflow task of these cases (the identity in their histories)."""
    client = await Client.connect(address, namespace="default")
    done: Counter[str] = Counter()
    for case_id in case_ids:
        async for event in client.get_workflow_handle(case_id).fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                done[event.workflow_task_completed_event_attributes.identity] += 1
    return done


async def relay_rounds_by_worker(address: str) -> Counter[str]:
    """Who ran the relay's rounds (its activities, dispatched to any worker of the queue)."""
    client = await Client.connect(address, namespace="default")
    ran: Counter[str] = Counter()
    handle = client.get_workflow_handle("casework-relay-casework")
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            ran[event.activity_task_started_event_attributes.identity.split("@")[0]] += 1
    return ran


@pytest.mark.slow
async def test_joined_workers_find_the_postgresql_engine_and_share_its_cases(
    tmp_path: Path,
    postgres: PostgresCluster,
    engines: list[Engine],  # noqa: F811
) -> None:
    db_url = postgres.new_database()
    state = tmp_path / "state"
    api_port = free_port()
    engine = Engine(
        state, free_port(), free_port(), "--database", db_url, "--api-port", str(api_port)
    )
    engines.append(engine)
    engine.wait_for("Ctrl+C")
    joined: list[Joined] = []
    try:
        # told another database or Temporal: refused, with the engine's own named
        said = refused(state, tmp_path, "--database", f"sqlite:///{tmp_path / 'other.db'}")
        assert f"its database is {db_url}" in said and "other.db" in said, said
        assert not (tmp_path / "other.db").exists()
        said = refused(state, tmp_path, TEMPORAL_ADDRESS="127.0.0.1:1")
        assert f"it serves Temporal at {engine.address}" in said, said
        said = refused(state, tmp_path, CASEWORK_TASK_QUEUE="elsewhere")
        assert "it serves task queue casework" in said, said

        joined = [Joined(f"joined-{n}", state, tmp_path) for n in (1, 2)]
        client = await Client.connect(engine.address, namespace="default")
        await until_polling(client, "casework", joined)  # type: ignore[arg-type]
        for worker in joined:
            assert "joins casework up, pid" in worker.said(), worker.said()
            assert db_url.split("@")[1] in worker.said()  # the engine's database, no password

        # the operator's commands reach the engine's database (PostgreSQL), not a new file
        added = casework(state, "webhooks", "add", "http://127.0.0.1:9/hooks/x")
        assert added.returncode == 0, added.stderr
        database = create_engine(db_url)
        try:
            with database.connect() as conn:
                urls = conn.execute(text("SELECT url FROM webhooks")).scalars().all()
        finally:
            database.dispose()
        assert urls == ["http://127.0.0.1:9/hooks/x"]
        wrong = casework(state, "--db-url", f"sqlite:///{tmp_path / 'x.db'}", "webhooks", "list")
        assert wrong.returncode == 2 and "its database is" in wrong.stderr, wrong.stderr
        assert not (state / "casework.db").exists(), "nothing went to a SQLite file"

        profiles = tomllib.loads((state / "profiles.toml").read_text())["profiles"]
        key = profiles["acme-alice"]["key"]
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api_port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        ) as door:

            async def open_one(n: int) -> str:
                answer = await door.post(
                    "/v1/cases",
                    json={
                        "product": "FortiGate",
                        "version": "7.4.3",
                        "priority": "P3",
                        "description": f"join test {n}",
                    },
                )
                assert answer.status_code == 200, answer.text
                return str(answer.json()["case_id"])

            case_ids = [await open_one(n) for n in range(CASES)]
        shares = await workflow_tasks_by_worker(engine.address, case_ids)
        rounds = await relay_rounds_by_worker(engine.address)
    finally:
        for worker in joined:
            worker.stop()
    identities = {
        "casework up": str(engine.process.pid),
        **{f"joined-{n}": str(w.process.pid) for n, w in enumerate(joined, 1)},
    }
    by_worker = {
        name: sum(v for k, v in shares.items() if k.split("@")[0] == pid)
        for name, pid in identities.items()
    }
    print(f"\nworkflow tasks of {CASES} cases by worker: {by_worker}")
    print(
        "relay rounds (activities) by worker: "
        + str({name: rounds.get(pid, 0) for name, pid in identities.items()})
    )
    assert sum(by_worker.values()) == sum(shares.values()), shares
    assert all(n > 0 for n in by_worker.values()), by_worker
