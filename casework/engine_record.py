"""Where a state folder's engine keeps things, found the same way by every process (issue 27).

`casework up` records, as it starts, its casework database, its Temporal address and
namespace, its task queue and its policy file: in its lock (`casework.state_lock`, while it
runs) and in `<state>/engine.json` (which stays after it stops). Every other process working on
that state folder takes them from there:

- `casework worker --join` takes them from the running engine's lock; refused when no engine
  runs, or when told another database, Temporal, namespace, task queue or policy;
- `casework worker` (alone) takes the database, task queue and policy from `engine.json`;
  refused when an engine runs on the folder (`--join` it), or when told another database or
  task queue;
- `casework api` and the operator's commands take them from the running engine's lock, else
  from `engine.json`; refused when told another database, Temporal, namespace or task queue.

"Told" means said explicitly: `--database` / `--db-url` / `CASEWORK_DB_URL`, the SDK's
environment configuration (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, a profile),
`CASEWORK_TASK_QUEUE`, `--policy` / `CASEWORK_POLICY`. Saying the same thing is fine; saying
nothing takes the engine's. Without a record (a worker or door of a cluster deployment, whose
folder no `casework up` ever ran on) the flags and environment are used as they are.

Why refuse rather than obey: a worker that opened the database it was given, not the engine's,
served the engine's task queue from an empty SQLite file, and `casework webhooks add` wrote a
subscription where no relay would ever read it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from casework.redact import masked_url
from casework.settings import Settings, environment
from casework.state_lock import Holder, engine_holding, same_address

RECORD_FILE = "engine.json"
Role = Literal["join", "worker", "command"]


class EngineMismatch(Exception):
    """This process may not work on the state folder as told; the message says why and how."""


@dataclass(frozen=True)
class EngineRecord:
    database: str
    temporal: str
    namespace: str
    task_queue: str
    policy: str = ""

    @classmethod
    def of_holder(cls, holder: Holder) -> EngineRecord | None:
        """What a running engine's lock says (None: an engine of an older casework)."""
        if not (holder.database and holder.temporal and holder.task_queue):
            return None
        return cls(
            database=holder.database,
            temporal=holder.temporal,
            namespace=holder.namespace or "default",
            task_queue=holder.task_queue,
            policy=holder.policy,
        )


@dataclass(frozen=True)
class Told:
    """What a process was told explicitly; None: nothing (it takes the engine's)."""

    database: str | None = None
    temporal: str | None = None
    namespace: str | None = None
    task_queue: str | None = None
    policy: str | None = None


@dataclass(frozen=True)
class Placement:
    """Where a process works: its settings (database, task queue, policy) and Temporal."""

    settings: Settings
    temporal: str | None = None
    """None: as the SDK's environment configuration says."""
    namespace: str | None = None
    source: str = ""
    """Where these came from, for messages ("" when from flags and environment only)."""


def write_record(state_dir: Path, record: EngineRecord) -> None:
    """`<state>/engine.json`, readable by its owner only (it may hold the database password)."""
    path = state_dir / RECORD_FILE
    tmp = path.with_name(f".{RECORD_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(record), f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def read_record(state_dir: Path) -> EngineRecord | None:
    path = state_dir / RECORD_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return EngineRecord(**{k: str(data[k]) for k in EngineRecord.__dataclass_fields__})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise EngineMismatch(
            f"{path} cannot be read ({type(e).__name__}): it says where this folder's engine "
            "keeps its database; start `casework up` on the folder again to rewrite it"
        ) from None


def same_database(a: str, b: str) -> bool:
    """The same database, whatever the driver or password: backend, host, port, name, user;
    SQLite: the same file."""
    try:
        x, y = make_url(a), make_url(b)
    except ArgumentError:
        return a == b
    if x.get_backend_name() != y.get_backend_name():
        return False
    if x.get_backend_name() == "sqlite":
        return _sqlite_file(x.database) == _sqlite_file(y.database)
    return (x.host or "localhost", x.port or 5432, x.database, x.username) == (
        y.host or "localhost",
        y.port or 5432,
        y.database,
        y.username,
    )


def _sqlite_file(name: str | None) -> str:
    return str(Path(name).resolve()) if name and name != ":memory:" else ":memory:"


def conflicts(record: EngineRecord, told: Told, *, temporal: bool = True) -> list[str]:
    """What `told` says against `record`, one sentence each with its fix."""
    found = []
    if told.database and not same_database(told.database, record.database):
        found.append(
            f"its database is {masked_url(record.database)}, but --database / --db-url / "
            f"CASEWORK_DB_URL name {masked_url(told.database)}: drop them, or name the same one"
        )
    if temporal and told.temporal and not same_address(told.temporal, record.temporal):
        found.append(
            f"it serves Temporal at {record.temporal}, but TEMPORAL_ADDRESS (or the Temporal "
            f"profile) names {told.temporal}: unset it, or set it to {record.temporal}"
        )
    if temporal and told.namespace and told.namespace != record.namespace:
        found.append(
            f"its namespace is {record.namespace}, but TEMPORAL_NAMESPACE (or the Temporal "
            f"profile) names {told.namespace}: unset it, or set it to {record.namespace}"
        )
    if told.task_queue and told.task_queue != record.task_queue:
        found.append(
            f"it serves task queue {record.task_queue}, but CASEWORK_TASK_QUEUE is "
            f"{told.task_queue}: unset it, or set it to {record.task_queue}"
        )
    if told.policy and record.policy and _path(told.policy) != _path(record.policy):
        found.append(
            f"it loaded the policy {record.policy}, but --policy / CASEWORK_POLICY name "
            f"{told.policy}: drop them, or name the same file"
        )
    elif told.policy and not record.policy:
        found.append(
            f"it runs the default S1 policy, but --policy / CASEWORK_POLICY name {told.policy}: "
            "drop them, or restart the engine with that policy"
        )
    return found


def _path(name: str) -> str:
    return str(Path(name).resolve())


def place(settings: Settings, told: Told, role: Role) -> Placement:
    """Where a process of `role` works on `settings.state_dir` (module docstring), or
    EngineMismatch saying why it may not."""
    state = settings.state_dir
    holder = engine_holding(state) if state.exists() else None
    record: EngineRecord | None
    if role == "join":
        if holder is None:
            raise EngineMismatch(
                f"no engine holds {state}, so there is nothing to join: start `casework up` "
                "first, or run `casework worker` without --join"
            )
        record = EngineRecord.of_holder(holder)
        if record is None:
            raise EngineMismatch(
                f"the engine holding {state} ({holder.describe()}) does not say which database "
                "it keeps (a casework from before issue 27): restart it, then join it"
            )
        source = f"the engine holding {state} ({holder.role}, pid {holder.pid})"
    elif role == "worker":
        if holder is not None:
            raise EngineMismatch(
                f"{state} is in use by {holder.describe()}.\nOne engine per state folder: to "
                "add this worker to that engine, run `casework worker --join`; to run a worker "
                "of another deployment, give it its own --state-dir."
            )
        record = read_record(state)
        source = f"{state / RECORD_FILE} (where this folder's engine recorded them)"
    else:
        record = EngineRecord.of_holder(holder) if holder is not None else None
        source = ""
        if holder is not None and record is not None:
            source = f"the engine holding {state} ({holder.role}, pid {holder.pid})"
        if record is None:
            record = read_record(state)
            source = f"{state / RECORD_FILE} (where this folder's engine recorded them)"
    if record is None:
        return Placement(settings)
    problems = conflicts(record, told, temporal=role != "worker")
    if problems:
        raise EngineMismatch(
            f"{state} belongs to an engine, and this process was told otherwise (from "
            f"{source}):\n- " + "\n- ".join(problems) + "\nNothing was started or changed."
        )
    placed = replace(
        settings,
        db_url=record.database,
        task_queue=record.task_queue,
        policy_file=Path(record.policy) if record.policy else settings.policy_file,
    )
    if role == "worker":
        return Placement(placed, source=source)
    return Placement(placed, record.temporal, record.namespace, source)


def for_engine(settings: Settings, *, database_given: bool) -> Settings:
    """`casework up`'s settings on its state folder: the database and task queue its engine
    recorded there before (its cases are in them), unless told the same; EngineMismatch when
    told others."""
    record = read_record(settings.state_dir)
    if record is None:
        return settings
    told = Told(
        database=settings.db_url if database_given else None,
        task_queue=environment().given("task_queue"),
    )
    problems = conflicts(record, told, temporal=False)
    if problems:
        raise EngineMismatch(
            f"the engine of {settings.state_dir} recorded in {RECORD_FILE} where its cases "
            "are, and this start says otherwise:\n- "
            + "\n- ".join(problems)
            + "\n(or give this engine another --state-dir)"
        )
    return replace(settings, db_url=record.database, task_queue=record.task_queue)
