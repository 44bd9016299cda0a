"""One engine per state folder: `<state>/engine.lock`.

Two engines on one folder disagree about the same case (two dev servers on one temporal.db,
two workers firing the same timers) and fight over the database's locks. So `casework up` holds
its folder for its whole life:

- the lock is the kernel's (`flock` on the lock file, kept open): taken atomically, and it
  dies with the process however the process ends, so a killed engine cannot wedge the folder;
- the file says who holds it (pid, host, start time, command, the Temporal it serves), so a
  refusal names the process to stop;
- on a clean exit the holder removes the file; a file left behind whose lock nobody holds is a
  stale lock (its holder was killed) and is taken over, with a note saying whose it was.

`casework worker` is refused on a folder an engine holds, unless it means to add capacity to
that engine and says so (`casework worker --join`): it then serves the holder's Temporal and task
queue. Workers of a cluster deployment, with no engine on their folder, take no lock.
The file is readable by its owner only (0600), like everything under the state folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from casework.redact import redact

LOCK_FILE = "engine.lock"
READ_ATTEMPTS = 20
"""A holder writes its details right after taking the lock: a refusal that finds the file
still empty looks again this many times, READ_PAUSE apart."""
READ_PAUSE = 0.05
LOCK_ATTEMPTS = 5
"""A folder found locked is tried again this many times, LOCK_PAUSE apart: a worker checking
whether an engine holds it locks it for an instant."""
LOCK_PAUSE = 0.1


@dataclass(frozen=True)
class Holder:
    """Who holds a state folder, as its lock file says."""

    pid: int
    host: str
    started: str
    command: str
    role: str = "casework up"
    temporal: str = ""
    task_queue: str = ""
    namespace: str = ""
    database: str = ""
    """The casework database URL (with its password, if it has one: the file is 0600, in a
    0700 folder that holds the key ring too). Never printed unmasked (`describe`)."""
    policy: str = ""
    """The SLA policy file the engine loaded ("" for the default S1 table)."""

    @classmethod
    def this_process(
        cls, role: str, temporal: str = "", task_queue: str = "", **more: str
    ) -> Holder:
        """`more`: namespace, database, policy (casework.engine_record reads them)."""
        return cls(
            pid=os.getpid(),
            host=socket.gethostname(),
            started=datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
            command=shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            role=role,
            temporal=temporal,
            task_queue=task_queue,
            **more,
        )

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        try:
            data = json.loads(text)
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except (ValueError, TypeError):
            return None

    @classmethod
    def unknown(cls) -> Holder:
        """A holder that has not written its details (yet)."""
        return cls(pid=0, host="", started="", command="", role="another process")

    def describe(self) -> str:
        if not self.pid:
            return f"{self.role} (it has not said which)"
        return (
            f"{self.role}, pid {self.pid} on {self.host}, started {self.started} "
            f"(command: {redact(self.command)})"
        )

    def runs(self) -> bool:
        """Whether the holder's process still runs (only knowable on this host)."""
        if self.host != socket.gethostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


class StateFolderHeld(Exception):
    """Another live process holds the state folder."""

    def __init__(self, state_dir: Path, holder: Holder) -> None:
        self.state_dir = state_dir
        self.holder = holder
        super().__init__(f"{state_dir} is in use by {holder.describe()}")


@dataclass
class StateLock:
    """A held state folder; `release` (or leaving `hold`) gives it back."""

    path: Path
    fd: int
    holder: Holder
    stale: Holder | None = None
    """The holder of a stale lock this one took over (its process was killed)."""

    def takeover_note(self) -> str | None:
        if self.stale is None:
            return None
        gone = "no longer runs" if not self.stale.runs() else "no longer holds it"
        return (
            f"took over a stale lock on {self.path.parent} from {self.stale.describe()}, "
            f"which {gone}: it stopped without releasing the folder (killed?)"
        )

    def release(self) -> None:
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()  # while still locked: nobody can take it half-removed
        os.close(self.fd)  # closing releases the flock
        self.fd = -1


def read_holder(path: Path) -> Holder:
    """Who the lock file at `path` names, waiting briefly for a holder still writing it."""
    for _ in range(READ_ATTEMPTS):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            break
        if text.strip():
            return Holder.parse(text) or Holder.unknown()
        time.sleep(READ_PAUSE)
    return Holder.unknown()


def acquire(state_dir: Path, holder: Holder) -> StateLock:
    """Hold `state_dir` (which must exist) for this process, or raise StateFolderHeld."""
    path = state_dir / LOCK_FILE
    refusals = 0
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited by children
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            refusals += 1
            if refusals >= LOCK_ATTEMPTS:
                raise StateFolderHeld(state_dir, read_holder(path)) from None
            time.sleep(LOCK_PAUSE)
            continue
        # A holder that was releasing may have removed the file we opened: ours is then a
        # lock on nothing. Open the path again until the locked file is the one named there.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    os.fchmod(fd, 0o600)
    previous = os.read(fd, 64 * 1024).decode("utf-8", errors="replace")
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, (json.dumps(asdict(holder), indent=2) + "\n").encode())
    os.fsync(fd)
    stale = Holder.parse(previous) if previous.strip() else None
    return StateLock(path=path, fd=fd, holder=holder, stale=stale)


@contextlib.contextmanager
def hold(state_dir: Path, holder: Holder) -> Iterator[StateLock]:
    lock = acquire(state_dir, holder)
    try:
        yield lock
    finally:
        lock.release()


def engine_holding(state_dir: Path) -> Holder | None:
    """The live engine holding `state_dir`, or None when it is free (or its lock stale)."""
    path = state_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_holder(path)
    finally:
        os.close(fd)
    return None


class WorkerRefused(Exception):
    """A worker must not start on this state folder (or has nothing to join); says why."""


def engine_to_join(
    state_dir: Path, *, join: bool, configured_target: str | None, task_queue: str
) -> Holder | None:
    """For a worker about to start on `state_dir`: None to run on its own, or the engine it
    joins (serve `holder.temporal`). WorkerRefused when an engine holds the folder and the
    worker does not join it (a second engine on the folder's database), or it joins and there
    is no engine, or its configuration names another Temporal or task queue."""
    engine = engine_holding(state_dir)
    if not join:
        if engine is not None:
            raise WorkerRefused(
                f"{state_dir} is in use by {engine.describe()}.\n"
                "One engine per state folder: to add this worker to that engine, run "
                "`casework worker --join`; to run a worker of another deployment, give it its "
                "own --state-dir."
            )
        return None
    if engine is None:
        raise WorkerRefused(
            f"no engine holds {state_dir}, so there is nothing to join: start `casework up` "
            "first, or run `casework worker` without --join"
        )
    if (
        configured_target
        and engine.temporal
        and not same_address(configured_target, engine.temporal)
    ):
        raise WorkerRefused(
            f"the engine this worker joins ({engine.role}, pid {engine.pid}) serves Temporal at "
            f"{engine.temporal}, but TEMPORAL_ADDRESS etc. name {configured_target}: unset "
            f"it, or set it to {engine.temporal}"
        )
    if engine.task_queue and engine.task_queue != task_queue:
        raise WorkerRefused(
            f"the engine this worker joins serves task queue {engine.task_queue}, but "
            f"CASEWORK_TASK_QUEUE is {task_queue}: unset it, or set it to {engine.task_queue}"
        )
    return engine


def same_address(a: str, b: str) -> bool:
    def local(address: str) -> str:
        return address.replace("localhost:", "127.0.0.1:", 1)

    return local(a) == local(b)
