"""The engines the benchmark scripts run against:

- `local_engine`: a Temporal server of this process (the dev server in memory or on a SQLite
  file, or the time-skipping test server) and the casework database with a directory and a
  fresh key ring; the script builds its worker on it (`LocalEngine.worker`), in this process;
- `running_engine`: `casework up` as a user runs it (the door beside its worker), over HTTP;
- `running_deployment`: `casework worker` and `casework api`, each a process of its own as a
  deployment runs them, on a dev server of this process, over HTTP;
- `bare_worker`: the bare workflows' worker (`bare_case.py`), a process of its own.

What else they share (binaries, percentiles, costs, the demo cases) is in bench_tools.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_tools import BENCHMARKS, binary, free_port  # beside this module; puts ROOT on the path
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from casework import search_attributes
from casework.codec import data_converter
from casework.domain.directory import Directory
from casework.domain.sla import DEFAULT_POLICY, SlaPolicy
from casework.engine import load_directory
from casework.identity.interceptors import PrincipalHeaders
from casework.identity.keyring import KeyRing, fresh_ring
from casework.settings import DEMO_DIRECTORY
from casework.store import Store

SERVERS = ("memory", "sqlite", "test")
"""The dev server in memory, the dev server on a SQLite file, the time-skipping test server."""

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


async def start_server(
    server: str, converter: DataConverter, folder: Path, metrics_port: int | None = None
) -> WorkflowEnvironment:
    """`server` (SERVERS): the dev server with the case search attributes, in memory or on
    `folder`/temporal.db, or the time-skipping test server (which takes none). `metrics_port`:
    where the dev server serves its Prometheus metrics (`server_asks.py` reads them)."""
    if server == "test":
        return await WorkflowEnvironment.start_time_skipping(
            data_converter=converter, test_server_existing_path=binary("temporal-test-server")
        )
    if server not in SERVERS:
        raise SystemExit(f"no server {server!r}: one of {', '.join(SERVERS)}")
    extra = ["--db-filename", str(folder / "temporal.db")] if server == "sqlite" else []
    if metrics_port is not None:
        extra += ["--metrics-port", str(metrics_port)]
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
    doors: tuple[str, ...] = ()
    """Every door's URL when there are several (`running_deployment(doors=...)`); `url` is
    the first."""

    @property
    def urls(self) -> tuple[str, ...]:
        return self.doors or (self.url,)

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
async def running_deployment(
    server: str = "memory", workers: int = 1, doors: int = 1, metrics_port: int | None = None
) -> AsyncIterator[Engine]:
    """`casework worker` and `casework api`, each a process of its own as a deployment runs
    them (tests/worker_processes.py, tests/api_server.py), sharing one state folder (its
    attachments), on a dev server of this process (`server`: "memory" or "sqlite", a file in
    the folder), one SQLite database with the demo directory and an API key for each of its
    people (tests/door_helpers.py), the tests' throwaway key ring, and an SMTP sink of its own
    for the relay's mail. `workers` worker processes share the task queue, `doors` door
    processes the engine (each on a port of its own: `Engine.urls`); `metrics_port`: the dev
    server's metrics (`start_server`)."""
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
            async with await start_server(
                server, DataConverter.default, folder, metrics_port
            ) as env:
                target = env.client.service_client.config.target_host
                queue = f"casework-{uuid.uuid4().hex[:8]}"
                started = [
                    WorkerProcess.start(
                        f"worker-{n}",
                        folder=folder,
                        temporal=target,
                        task_queue=queue,
                        db_url=url,
                        extra_env={"CASEWORK_STATE_DIR": str(state), **smtp},
                    )
                    for n in range(workers)
                ]
                try:
                    await until_polling(env.client, queue, started)
                    with contextlib.ExitStack() as apis:
                        urls = tuple(
                            apis.enter_context(
                                api_server(
                                    store,
                                    target=target,
                                    namespace="default",
                                    task_queue=queue,
                                    state_dir=state,
                                    extra_env=smtp,
                                )
                            ).url
                            for _ in range(doors)
                        )
                        yield Engine(urls[0], target, state, url, keys, urls)
                finally:
                    for worker in started:
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
