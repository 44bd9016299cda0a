"""The restore drill of docs/deployment.md (issue 27), on SQLite and on PostgreSQL: a deployment
(a worker and a door) on a Temporal server that outlives it; its casework database backed up
with the database's own tool while it runs (`sqlite3 .backup`, `pg_dump -Fc`) and its key ring
with `casework keyring export`; the deployment's folder (and database) lost; both restored into
a fresh state folder (`pg_restore`, `casework keyring import`) and the deployment started again
against the same Temporal. Every case reads as it did, feed and restricted text included (U5:
sealed with the restored ring), and acts as before; the next case takes the next number."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.postgres_cluster import PostgresCluster
from tests.test_health import TemporalServer, until
from tests.test_up import CASEWORK, clean_env, free_port

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]  # two deployments, each restored
CANARY = "Enclave tunnel to site Bravo-7 drops"


class Deployment:
    """`casework worker` and `casework api` on one state folder, database and Temporal."""

    def __init__(self, folder: Path, temporal: TemporalServer, db_url: str | None) -> None:
        self.folder = folder
        self.port = free_port()
        self.env = clean_env(
            TEMPORAL_ADDRESS=f"127.0.0.1:{temporal.port}",
            CASEWORK_STATE_DIR=str(folder),
            CASEWORK_TASK_QUEUE="drill",
            CASEWORK_LOG_FORMAT="json",
            **({"CASEWORK_DB_URL": db_url} if db_url else {}),
        )
        self.processes: list[subprocess.Popen[bytes]] = []
        self.keys: dict[str, str] = {}

    def casework(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [CASEWORK, *args], capture_output=True, text=True, timeout=60, env=self.env
        )
        assert done.returncode == 0, f"casework {' '.join(args)}: {done.stderr}"
        return done

    def start(self) -> None:
        """The worker first (it makes a new database's schema), then the door; each ready."""
        logs = self.folder.parent / f"{self.folder.name}-logs"
        logs.mkdir(exist_ok=True)
        health = free_port()
        for args, ready in (
            (["worker", "--health-port", str(health)], health),
            (["api", "--port", str(self.port)], self.port),
        ):
            with (logs / f"{args[0]}.log").open("wb") as log:
                self.processes.append(
                    subprocess.Popen(
                        [CASEWORK, *args], stdout=log, stderr=subprocess.STDOUT, env=self.env
                    )
                )
            until(f"http://127.0.0.1:{ready}/readyz", 200)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []

    def key(self, person: str) -> str:
        if person not in self.keys:
            made = self.casework("keys", "create", person, "--output", "json")
            self.keys[person] = json.loads(made.stdout)["key"]
        return self.keys[person]

    def call(self, person: str, method: str, path: str, **body: Any) -> Any:
        answer = httpx.request(
            method,
            f"http://127.0.0.1:{self.port}{path}",
            headers={"Authorization": f"Bearer {self.key(person)}"},
            json=body or None,
            timeout=60,
        )
        assert answer.status_code == 200, f"{method} {path} as {person}: {answer.text}"
        return answer.json()

    def act(self, person: str, case_id: str, action: str, **payload: Any) -> None:
        self.call(person, "POST", f"/v1/cases/{case_id}/actions/{action}", **payload)

    def read(self, person: str, case_id: str) -> dict[str, Any]:
        """What `show` prints of the case: its view and its whole feed."""
        view = self.call(person, "GET", f"/v1/cases/{case_id}")
        feed = self.call(person, "GET", f"/v1/cases/{case_id}/feed?page_size=100")
        for volatile in ("sla_remaining_seconds", "sla_read_at", "allowed_actions"):
            view.pop(volatile, None)
        return {"view": view, "feed": feed}


def open_case(deployment: Deployment, person: str, **fields: Any) -> dict[str, Any]:
    body = {"product": "FortiGate", "version": "7.4.3", "priority": "P3", "description": "HA"}
    return deployment.call(person, "POST", "/v1/cases", **(body | fields))  # type: ignore[no-any-return]


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_a_deployment_restored_from_its_backups_reads_and_acts_as_before(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    temporal = TemporalServer(tmp_path)
    temporal.start()
    cluster: PostgresCluster | None = None
    lost, restored_url = None, None
    if database == "postgres":
        cluster = request.getfixturevalue("postgres")
        lost, restored_url = cluster.new_database(), cluster.new_database()
    before_folder, after_folder = tmp_path / "state", tmp_path / "restored"
    backups = tmp_path / "backups"
    backups.mkdir()
    first = Deployment(before_folder, temporal, lost)
    again = Deployment(after_folder, temporal, restored_url)
    try:
        first.casework("keyring", "init")  # the deployment's ring, before anything runs
        first.start()
        ordinary = open_case(first, "acme-alice", priority="P2")
        owner = ordinary["owner"]
        first.act(owner, ordinary["case_id"], "respond", text="Looking at it now")
        second = open_case(first, "acme-bob", description="Log fetch stalls")
        first.act("acme-bob", second["case_id"], "comment", text="Seen again at 09:12")
        restricted = open_case(first, "cyberdyne-ivan", description=CANARY)
        cases = {
            ordinary["case_id"]: ("acme-alice", owner),
            second["case_id"]: ("acme-bob", second["owner"]),
            restricted["case_id"]: ("cyberdyne-ivan", None),
        }
        before = {c: first.read(reader, c) for c, (reader, _) in cases.items()}
        assert CANARY in before[restricted["case_id"]]["view"]["description"]

        # the backups, taken while the deployment runs
        first.casework("keyring", "export", "--to", str(backups / "keyring.json"))
        if lost is None:
            subprocess.run(
                [
                    "sqlite3",
                    str(before_folder / "casework.db"),
                    f".backup {backups / 'casework.db'}",
                ],
                check=True,
                timeout=60,
            )
        else:
            subprocess.run(
                [
                    "pg_dump",
                    "-Fc",
                    "-d",
                    lost.replace("+psycopg", ""),
                    "-f",
                    str(backups / "casework.dump"),
                ],
                check=True,
                timeout=60,
            )
        first.stop()
        shutil.rmtree(before_folder)  # the machine is gone, and with it the folder
        if cluster is not None and lost is not None:
            cluster.drop(lost)

        # the restore, into a fresh folder, against the same Temporal
        after_folder.mkdir(mode=0o700)
        again.casework("keyring", "import", str(backups / "keyring.json"))
        if restored_url is None:
            subprocess.run(
                [
                    "sqlite3",
                    str(after_folder / "casework.db"),
                    f".restore {backups / 'casework.db'}",
                ],
                check=True,
                timeout=60,
            )
        else:
            subprocess.run(
                ["pg_restore", "--no-owner", "-d", restored_url.replace("+psycopg", "")]
                + [str(backups / "casework.dump")],
                check=True,
                timeout=60,
            )
        again.start()
        after = {c: again.read(reader, c) for c, (reader, _) in cases.items()}
        assert after == before, "a restored case reads otherwise than before"

        again.act("acme-alice", ordinary["case_id"], "comment", text="Thanks, still flapping")
        again.act(second["owner"], second["case_id"], "respond", text="Collecting logs")
        again.act("acme-bob", second["case_id"], "close", reason="Fixed by the upgrade")
        again.act("cyberdyne-ivan", restricted["case_id"], "comment", text="more detail")
        closed = again.read("acme-bob", second["case_id"])["view"]
        assert closed["state"] == "closed"
        feed = again.read("acme-alice", ordinary["case_id"])["feed"]
        assert "Thanks, still flapping" in str(feed)
        newest = open_case(again, "acme-alice", description="After the restore")
        numbers = sorted(int(c.split("-")[1]) for c in cases)
        assert int(newest["case_id"].split("-")[1]) == numbers[-1] + 1
    finally:
        first.stop()
        again.stop()
        temporal.stop()
