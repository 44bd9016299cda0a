"""What the benchmark scripts share: the installed binaries, a percentile, what a run costs (CPU,
memory, the machine's load), the demo cases they open, and the engines they run against:

- `local_engine`: a Temporal server of this process (the dev server in memory or on a SQLite
  file, or the time-skipping test server) and the casework database with a directory and a
  fresh key ring; the script builds its worker on it (`LocalEngine.worker`), in this process;
- `running_engine`: `casework up` as a user runs it (the door beside its worker), over HTTP;
- `running_deployment`: `casework worker` and `casework api`, each a process of its own as a
  deployment runs them, on a dev server of this process, over HTTP;
- `bare_worker`: the bare workflows' worker (`bare_case.py`), a process of its own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # tests/ (the door's and the workers' set-up), worker.py
sys.path.insert(0, str(BENCHMARKS))  # bare_case.py, as the bare worker imports it

from bare_case import BareLocalCase  # noqa: E402  (beside this module)
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle  # noqa: E402
from temporalio.common import WorkflowIDConflictPolicy  # noqa: E402
from temporalio.converter import DataConverter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from casework import search_attributes  # noqa: E402
from casework.codec import data_converter  # noqa: E402
from casework.domain.actions import ActionResult  # noqa: E402
from casework.domain.directory import Directory  # noqa: E402
from casework.domain.models import CaseView, Channel, OpenCaseRequest, Priority  # noqa: E402
from casework.domain.sla import DEFAULT_POLICY, SlaPolicy  # noqa: E402
from casework.engine import load_directory  # noqa: E402
from casework.identity.interceptors import PrincipalHeaders, acting  # noqa: E402
from casework.identity.keyring import KeyRing, fresh_ring  # noqa: E402
from casework.identity.principal import Principal  # noqa: E402
from casework.settings import DEMO_DIRECTORY  # noqa: E402
from casework.store import Store  # noqa: E402

SERVERS = ("memory", "sqlite", "test")
"""The dev server in memory, the dev server on a SQLite file, the time-skipping test server."""


def binary(name: str) -> str:
    """A program of this environment (`temporal`, `temporal-test-server`, `casework`)."""
    found = Path(sys.prefix, "bin", name)
    path = str(found) if found.exists() else shutil.which(name)
    if not path:
        raise SystemExit(f"{name} is not installed: pip install -e '.[test]'")
    return path


def percentile(samples: list[float], p: float) -> float:
    """The sample at or just above the p-th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by this process (client and worker) and by its child processes
    still running (the Temporal server), read from /proc: a cost per case that holds steady
    when other work shares the machine, unlike a rate."""
    ticks = os.sysconf("SC_CLK_TCK")
    own = time.process_time()
    children = 0.0
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children += (int(fields[11]) + int(fields[12])) / ticks
    return own, children


def tree_cpu_seconds() -> float:
    """CPU seconds used so far by this process and every live process below it, however deep
    (`casework up` and its Temporal server; a worker, a door, the bare worker, their server):
    what a run costs the whole machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    below: dict[int, list[int]] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue
        pid = int(entry.name)
        below.setdefault(int(fields[1]), []).append(pid)
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks
    total, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += used.get(pid, 0.0)
        todo += below.get(pid, [])
    return total


def rss_mb() -> float:
    """This process's resident memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_average() -> str:
    """The machine's load average over 1, 5 and 15 minutes (it is shared: say how busy)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the demo cases the benchmarks open and work --------------------------------------------


def acme_request(n: int, prefix: str = "bench", description: str = "") -> OpenCaseRequest:
    """A case of Acme's contact Alice (Gold): FortiGate 7.4.3, P3, routed as it opens (E1),
    its first-response target hours away."""
    return OpenCaseRequest(
        request_id=f"{prefix}-{n}-{uuid.uuid4().hex[:12]}",
        channel=Channel.WEB,
        account_id="acme",
        contact_id="acme-alice",
        product="FortiGate",
        version="7.4.3",
        priority=Priority.P3,
        description=description or f"benchmark case {n}",
    )


def outage_request(n: int, prefix: str) -> OpenCaseRequest:
    """A P1 outage of Globex's contact Carol (Gold): FortiManager 7.2.1; its first-response
    target is the policy's P1 (S1), which the breach benchmarks make short (S5)."""
    return OpenCaseRequest(
        request_id=f"{prefix}-{n}-{uuid.uuid4().hex[:6]}",
        channel=Channel.WEB,
        account_id="globex",
        contact_id="globex-carol",
        product="FortiManager",
        version="7.2.1",
        priority=Priority.P1,
        description=f"outage {n}",
    )


def closing_steps(owner: str, contact: str = "acme-alice") -> list[tuple[str, str, dict[str, str]]]:
    """The rest of a lifecycle after the open: (action, who, fields) for the owner's first
    response, the owner's resolution and the customer's close."""
    return [
        ("respond", owner, {"text": "looking"}),
        ("resolve", owner, {"resolution": "fixed"}),
        ("close", contact, {"reason": "thanks"}),
    ]


async def act(
    handle: WorkflowHandle[Any, Any], action: str, who: str, fields: dict[str, Any]
) -> ActionResult:
    """An action as the door sends it: an update signed for who acts (through a client of
    `LocalEngine.door`)."""
    with acting(Principal(id=who, via="api-key")):
        return await handle.execute_update(action, fields, result_type=ActionResult)


async def until_routed(handle: WorkflowHandle[Any, Any], viewer: str = "acme-alice") -> str:
    """The engineer the case went to (E1), asking the case until it says."""
    import asyncio

    while True:
        view = await handle.query("view", {"viewer": viewer}, result_type=CaseView)
        if view.owner is not None:
            return view.owner.engineer_id
        await asyncio.sleep(0.02)


Timed = Callable[[str, Awaitable[Any]], Awaitable[Any]]
"""`timed(action, work)`: awaits `work` and notes how long `action` took."""


async def bare_local_lifecycle(client: Client, task_queue: str, timed: Timed) -> None:
    """One lifecycle of the bare workflow with local activities (bare_case.BareLocalCase) on
    `task_queue`: open (update-with-start, one round trip), respond, resolve, close."""
    start = WithStartWorkflowOperation(
        BareLocalCase.run,
        id=f"bare-local-{uuid.uuid4().hex}",
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    await timed(
        "open",
        client.execute_update_with_start_workflow(
            BareLocalCase.open, "x", start_workflow_operation=start
        ),
    )
    handle = await start.workflow_handle()
    for action in ("respond", "resolve", "close"):
        await timed(action, handle.execute_update(action, "x", result_type=str))


# --- an engine in this process ---------------------------------------------------------------


@dataclass
class LocalEngine:
    """A Temporal server of this process, the casework database and key ring; the script's
    worker is built on it, in this process."""

    env: WorkflowEnvironment
    store: Store
    ring: KeyRing
    folder: Path
    """A temporary folder, removed afterwards: casework.db, temporal.db (server "sqlite")."""
    database: str

    @property
    def client(self) -> Client:
        """The server's client: encrypts as a deployment does (casework.codec)."""
        return self.env.client

    @property
    def target(self) -> str:
        return self.env.client.service_client.config.target_host

    @property
    def db_path(self) -> Path:
        """The SQLite database's file (for the scripts that read it directly)."""
        return self.folder / "casework.db"

    def door(self) -> Client:
        """A client as the door has it: inside `acting(...)`, what it sends is signed for who
        acts (casework.identity)."""
        config = self.env.client.config()
        config["interceptors"] = [PrincipalHeaders(self.ring)]
        return Client(**config)

    def activities(self, policy: SlaPolicy = DEFAULT_POLICY, **options: Any) -> list[Any]:
        from worker import activities_for

        return list(activities_for(self.store, policy, **options))

    def worker(
        self, task_queue: str, activities: list[Any] | None = None, **options: Any
    ) -> Worker:
        """The casework worker (`worker.build_worker`) on `task_queue`; `options` are its
        (an executor, a workflow runner)."""
        from worker import build_worker

        return build_worker(
            self.client,
            task_queue=task_queue,
            activities=self.activities() if activities is None else activities,
            ring=self.ring,
            **options,
        )

    def keyring_file(self) -> Path:
        """The key ring in a file (0600), for worker processes (CASEWORK_KEYRING_FILE)."""
        path = self.folder / "keyring.json"
        path.write_text(self.ring.to_json())
        path.chmod(0o600)
        return path


async def start_server(server: str, converter: DataConverter, folder: Path) -> WorkflowEnvironment:
    """`server` (SERVERS): the dev server with the case search attributes, in memory or on
    `folder`/temporal.db, or the time-skipping test server (which takes none)."""
    if server == "test":
        return await WorkflowEnvironment.start_time_skipping(
            data_converter=converter, test_server_existing_path=binary("temporal-test-server")
        )
    if server not in SERVERS:
        raise SystemExit(f"no server {server!r}: one of {', '.join(SERVERS)}")
    extra = ["--db-filename", str(folder / "temporal.db")] if server == "sqlite" else []
    return await WorkflowEnvironment.start_local(
        data_converter=converter,
        dev_server_existing_path=binary("temporal"),
        search_attributes=search_attributes.ALL,
        dev_server_extra_args=extra,
    )


@contextlib.asynccontextmanager
async def local_engine(
    server: str = "memory", *, database: str = "sqlite", directory: Directory | None = None
) -> AsyncIterator[LocalEngine]:
    """`server` (SERVERS) and the casework database, on SQLite in a temporary folder or
    (`postgres`) on a throwaway PostgreSQL server (tests/postgres_cluster.py), holding
    `directory` (default: the demo directory); all of it stopped and removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp:
        folder = Path(tmp)
        cluster = None
        if database == "postgres":
            from tests.postgres_cluster import PostgresCluster

            cluster = PostgresCluster.start()
        try:
            url = cluster.new_database() if cluster else f"sqlite:///{folder / 'casework.db'}"
            ring = fresh_ring()
            store = Store(url, ring)
            store.directory.replace(directory or load_directory(DEMO_DIRECTORY))
            try:
                converter = data_converter(ring, store.realms.lookup)
                async with await start_server(server, converter, folder) as env:
                    yield LocalEngine(env, store, ring, folder, url)
            finally:
                store.dispose()
        finally:
            if cluster is not None:
                cluster.stop()


# --- engines reached over HTTP ----------------------------------------------------------------


@dataclass(frozen=True)
class Engine:
    """An engine a benchmark reaches through its door: where the door answers, Temporal, the
    state folder, the database, an API key for each person of the demo directory."""

    url: str
    temporal: str
    state: Path
    database: str
    keys: dict[str, str]

    async def client(self):  # type: ignore[no-untyped-def]
        """A Temporal client of the engine, with its key ring (reads what the engine wrote)."""
        from casework.converter import converter_for
        from casework.settings import Settings

        settings = Settings.from_env(state_dir=self.state, db_url=self.database)
        return await Client.connect(self.temporal, data_converter=converter_for(settings))


UP_WITHIN = 120.0
"""Seconds `casework up` may take to say it is up (a busy machine, a first run)."""


@contextlib.contextmanager
def running_engine(database: str = "sqlite") -> Iterator[Engine]:
    """`casework up` on free ports in a fresh state folder, on its SQLite database or
    (`postgres`) on a throwaway PostgreSQL server (tests/postgres_cluster.py); stopped, and
    its folder removed, afterwards. Its Temporal dev server is on a SQLite file."""
    from tests.postgres_cluster import PostgresCluster

    state = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    port, api_port = free_port(), free_port()
    cluster = PostgresCluster.start() if database == "postgres" else None
    url = cluster.new_database() if cluster is not None else f"sqlite:///{state}/casework.db"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "TEMPORAL_"))}
    log = Path(tempfile.mkdtemp(prefix="casework-bench-log-")) / "up.log"
    with log.open("w") as out:  # a file, not a pipe: a full pipe would stop the engine
        engine = subprocess.Popen(
            [binary("casework"), "up", "--port", str(port), "--ui-port", str(free_port())]
            + ["--api-port", str(api_port), "--metrics-port", str(free_port())]
            + ["--state-dir", str(state), "--database", url],
            env=base,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + UP_WITHIN
        while "Ctrl+C" not in log.read_text(errors="replace"):
            if engine.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"casework up did not start (exit {engine.poll()}): "
                    f"{log.read_text(errors='replace')[-3000:]}"
                )
            time.sleep(0.1)
        profiles = tomllib.loads((state / "profiles.toml").read_text())["profiles"]
        yield Engine(
            url=f"http://127.0.0.1:{api_port}",
            temporal=f"127.0.0.1:{port}",
            state=state,
            database=url,
            keys={name: p["key"] for name, p in profiles.items()},
        )
    finally:
        engine.send_signal(signal.SIGINT)
        try:
            engine.wait(30)
        except subprocess.TimeoutExpired:
            engine.kill()
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(log.parent, ignore_errors=True)


MAIL_SINK = (
    "import sys, threading\n"
    "from pathlib import Path\n"
    "from casework.notify.sink import start_sink\n"
    "start_sink(Path(sys.argv[1]), port=int(sys.argv[2]))\n"
    "print('ready', flush=True)\n"
    "threading.Event().wait()\n"
)
"""The SMTP sink `casework up` runs for its relay (casework.notify.sink), as a process of its
own: a deployment's worker mails through an SMTP server elsewhere."""


@contextlib.contextmanager
def mail_sink(folder: Path) -> Iterator[int]:
    """An SMTP sink keeping mail in `folder`, its port while it runs."""
    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, "-c", MAIL_SINK, str(folder), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sink.stdout is not None
        if sink.stdout.readline().strip() != "ready":
            raise SystemExit(f"the mail sink did not start (exit {sink.wait()})")
        yield port
    finally:
        sink.terminate()
        sink.wait(30)


@contextlib.asynccontextmanager
async def running_deployment(server: str = "memory") -> AsyncIterator[Engine]:
    """`casework worker` and `casework api`, each a process of its own as a deployment runs
    them (tests/worker_processes.py, tests/api_server.py), sharing one state folder (its
    attachments), on a dev server of this process (`server`: "memory" or "sqlite", a file in
    the folder), one SQLite database with the demo directory and an API key for each of its
    people (tests/door_helpers.py), the tests' throwaway key ring, and an SMTP sink of its own
    for the relay's mail."""
    from casework.door.people import directory_ids
    from tests.api_server import api_server
    from tests.conftest import TEST_RING
    from tests.door_helpers import key_for
    from tests.worker_processes import TEST_KEYRING, WorkerProcess, until_polling

    if server not in ("memory", "sqlite"):
        raise SystemExit(f"a deployment's dev server is 'memory' or 'sqlite', not {server!r}")
    with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp:
        folder = Path(tmp)
        state = folder / "state"
        state.mkdir(mode=0o700)
        shutil.copy(TEST_KEYRING, state / "keyring.json")  # for `Engine.client`
        url = f"sqlite:///{folder / 'casework.db'}"
        store = Store(url, TEST_RING)
        store.directory.replace(load_directory(DEMO_DIRECTORY))
        keys = {
            person: key_for(store, person, label="benchmark") for person in directory_ids(store)
        }
        with mail_sink(folder / "mail") as smtp_port:
            smtp = {
                "CASEWORK_SMTP_HOST": "127.0.0.1",
                "CASEWORK_SMTP_PORT": str(smtp_port),
                "CASEWORK_SMTP_TLS": "none",
            }
            async with await start_server(server, DataConverter.default, folder) as env:
                target = env.client.service_client.config.target_host
                queue = f"casework-{uuid.uuid4().hex[:8]}"
                worker = WorkerProcess.start(
                    "worker",
                    folder=folder,
                    temporal=target,
                    task_queue=queue,
                    db_url=url,
                    extra_env={"CASEWORK_STATE_DIR": str(state), **smtp},
                )
                try:
                    await until_polling(env.client, queue, [worker])
                    with api_server(
                        store,
                        target=target,
                        namespace="default",
                        task_queue=queue,
                        state_dir=state,
                        extra_env=smtp,
                    ) as api:
                        yield Engine(api.url, target, state, url, keys)
                finally:
                    worker.stop()
        store.dispose()


@contextlib.asynccontextmanager
async def bare_worker(client: Client, task_queue: str, folder: Path) -> AsyncIterator[Path]:
    """The bare workflows' worker (bare_worker.py) on `task_queue` of `client`'s server, a
    process of its own as casework's is; its SQLite database's path while it polls."""
    from tests.worker_processes import WorkerProcess, until_polling

    database = folder / f"bare-{task_queue}.db"
    log = folder / f"bare-{task_queue}.log"
    target = client.service_client.config.target_host
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(BENCHMARKS / "bare_worker.py"), "--address", target]
            + ["--namespace", client.namespace, "--task-queue", task_queue]
            + ["--database", str(database)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    bare = WorkerProcess(name="bare", process=process, log=log)
    try:
        await until_polling(client, task_queue, [bare])
        yield database
    finally:
        bare.stop()
