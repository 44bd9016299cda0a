"""A throwaway PostgreSQL server for the tests, from the Debian `postgresql` package.

`PostgresCluster.start()` runs `initdb` into a fresh temporary folder and starts `postgres` on
it, listening on a free localhost port (and a unix socket in the same folder), trust
authentication, durability off (fsync, synchronous commit): a test database is thrown away.
No root service, nothing installed or left behind: `stop()` shuts it down (fast mode) and
removes the folder. initdb and postgres refuse to run as root: run as root (CI), the cluster
runs as the `postgres` system user on a folder it owns; run as anyone else, as that user.

Each test gets a database of its own (`new_database()`), dropped afterwards (`drop()`).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.ports import free_port
from tests.waiting import NeverHappened, eventually_sync

BIN_GLOB = "/usr/lib/postgresql/*/bin"
"""Where Debian's `postgresql-NN` packages put initdb and postgres (not on PATH)."""
START_TIMEOUT = 30.0
MAX_CONNECTIONS = 300
"""Tests open many engines at once (the door, three workers, the test's own store), each with
its pool of up to 15."""


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries here, or the server did not start; says what to do."""


def bin_dir() -> Path:
    """CASEWORK_TEST_PG_BIN, else the newest /usr/lib/postgresql/NN/bin."""
    configured = os.environ.get("CASEWORK_TEST_PG_BIN")
    if configured:
        return Path(configured)
    found = sorted(glob.glob(BIN_GLOB), key=lambda p: int(Path(p).parent.name or 0))
    if not found:
        raise PostgresUnavailable(
            "PostgreSQL is not installed (no /usr/lib/postgresql/NN/bin): apt-get install -y "
            "postgresql (the tests start a server of their own from it), or set "
            "CASEWORK_TEST_PG_BIN to the folder holding initdb and postgres"
        )
    return Path(found[-1])


@dataclass
class PostgresCluster:
    folder: Path
    port: int
    process: subprocess.Popen[bytes]
    user: str | None
    databases: list[str] = field(default_factory=list)

    @classmethod
    def start(cls) -> PostgresCluster:
        binaries = bin_dir()
        as_root = os.geteuid() == 0
        user = "postgres" if as_root else None
        folder = Path(tempfile.mkdtemp(prefix="casework-pg-"))
        if as_root:
            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable(
                    "running as root, and there is no `postgres` user to run the test server "
                    "as (initdb refuses root): apt-get install -y postgresql makes it"
                ) from None
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        data = folder / "data"
        subprocess.run(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            user=user,
        )
        port = free_port()
        log = open(folder / "postgres.log", "wb")  # noqa: SIM115 - the server's, closed on exit
        process = subprocess.Popen(
            [
                str(binaries / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={folder}",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                f"max_connections={MAX_CONNECTIONS}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            user=user,
            start_new_session=True,
        )
        log.close()
        cluster = cls(folder=folder, port=port, process=process, user=user)
        cluster._wait_ready()
        return cluster

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def _wait_ready(self) -> None:
        import psycopg

        def answers() -> bool:
            if self.process.poll() is not None:
                raise PostgresUnavailable(
                    f"the test PostgreSQL stopped at start (exit {self.process.returncode}): "
                    + (self.folder / "postgres.log").read_text(errors="replace")[-2000:]
                )
            self._admin("SELECT 1")
            return True

        try:
            eventually_sync(
                answers,
                START_TIMEOUT,
                every=0.1,
                ignoring=(psycopg.OperationalError,),
                what="the test PostgreSQL to answer",
            )
        except NeverHappened as e:
            self.stop()
            raise PostgresUnavailable(str(e)) from None

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return self.url(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with contextlib.suppress(Exception):
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: SIGTERM waits for clients
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
