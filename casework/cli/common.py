"""What every command group shares: the global options, printing, refusals and exit codes,
running async work, reaching Temporal, and the option types used by many commands.

Bad input is refused before anything is sent, with one paragraph that says what was wrong and
how to fix it, and a non-zero exit: 2 (`BAD_INPUT`) for bad input or a bad file, 1
(`REFUSED`) for a refusal by the engine.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from pydantic import ValidationError
    from rich.console import Console
    from temporalio.client import Client

    from casework.engine_record import Placement, Told
    from casework.settings import Settings
    from casework.store import Store

T = TypeVar("T")

ANSWER_TIMEOUT = 30.0
"""Seconds to wait for the worker to answer (open, show, an action) before saying so."""

WIDE = 200
"""Columns of output that is not a terminal (a pipe, a file, a test)."""
BAD_INPUT = 2
REFUSED = 1


class Output(StrEnum):
    text = "text"
    json = "json"


OutputOption = Annotated[Output, typer.Option(help="text or json.")]
CaseArgument = Annotated[str, typer.Argument(help="Case number: case-000123 or 123.")]
ForOption = Annotated[
    str | None,
    typer.Option(
        "--for",
        help="Customer Care: record this for the contact who called (their directory id); "
        "the case records who acted and for whom.",
    ),
]


# --- the process ---------------------------------------------------------------------------

_temporal_used = False


def mark_temporal_used() -> None:
    """This process has started temporalio's native threads (see `casework.cli.Casework`)."""
    global _temporal_used
    _temporal_used = True


def temporal_used() -> bool:
    return _temporal_used


# --- global options ------------------------------------------------------------------------


@dataclass(frozen=True)
class Globals:
    state_dir: Path | None = None
    db_url: str | None = None
    directory: Path | None = None
    policy: Path | None = None
    profile: str | None = None
    """Which credential the people-facing commands use (`casework.cli.door_client`)."""

    def settings(self, **overrides: Any) -> Settings:
        """Flags win over environment variables (casework.settings)."""
        fields: dict[str, Any] = {
            "state_dir": self.state_dir,
            "db_url": self.db_url,
            "directory_file": self.directory,
            "policy_file": self.policy,
        }
        fields.update({k: v for k, v in overrides.items() if v is not None})
        from casework.settings import Settings

        return Settings.from_env(**fields)

    def told(self, database: str | None = None) -> Told:
        """What this command was told explicitly about where the engine is
        (casework.engine_record): the database flags, the SDK's environment configuration,
        CASEWORK_TASK_QUEUE, the policy flag."""
        from casework.client import CaseworkError
        from casework.engine_record import Told
        from casework.settings import environment

        try:
            from temporalio.envconfig import ClientConfig

            config = ClientConfig.load_client_connect_config()
        except Exception as e:  # a bad TEMPORAL_CONFIG_FILE or profile
            raise CaseworkError(f"the Temporal client configuration cannot be read: {e}") from None
        return Told(
            database=database or self.db_url,
            temporal=str(config["target_host"]) if config.get("target_host") else None,
            namespace=str(config["namespace"]) if config.get("namespace") else None,
            task_queue=environment().given("task_queue"),
            policy=str(self.policy) if self.policy else None,
        )

    def placement(self) -> Placement:
        """Where an operator's command works: the engine of the state folder if it has one
        (its lock while it runs, else `<state>/engine.json`), or the flags and environment;
        refused (exit 2) when told otherwise than the engine (casework.engine_record)."""
        from casework.client import CaseworkError
        from casework.engine_record import EngineMismatch, place

        try:
            return place(self.settings(), self.told(), "command")
        except (EngineMismatch, CaseworkError) as e:
            fail(str(e), BAD_INPUT)


_running: ContextVar[Globals | None] = ContextVar("casework_globals", default=None)


def set_globals(options: Globals) -> None:
    """The global options of the command now running, for helpers deep in a command
    (`door_client.credential_of`) that are not handed its context."""
    _running.set(options)


def globals_of(ctx: typer.Context | None = None) -> Globals:
    """The global options: of `ctx`, or of the command now running."""
    obj = ctx.find_root().obj if ctx is not None else _running.get()
    return obj if isinstance(obj, Globals) else Globals()


# --- printing and refusing -----------------------------------------------------------------


def out() -> Console:
    """stdout; piped or captured output is not cut to 80 columns."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else WIDE)


def fail(message: str, code: int = REFUSED) -> NoReturn:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(message, style="red", markup=False)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    from pydantic import BaseModel

    if isinstance(data, BaseModel):
        typer.echo(data.model_dump_json(indent=2))
    else:
        typer.echo(json.dumps(data, indent=2, default=str))


def explain(error: ValidationError, options: dict[str, str]) -> str:
    """A pydantic error as the user typed it: the option's name and what to write."""
    parts = []
    for err in error.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        where = options.get(field, field or "input")
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "string_pattern_mismatch":
            message = "may contain only letters, digits and . _ @ : -"
        elif err["type"] == "string_too_short":
            message = "must not be empty"
        elif err["type"] == "extra_forbidden":
            message = "is not a field of this request"
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def case_number(case: str) -> str:
    """`case-000123` from `123` or `case-000123`; anything else exits 2. The domain's reading
    (casework.domain.case_ids, as the door's), without importing Temporal (the people-facing
    commands talk HTTP to the door)."""
    from casework.domain.case_ids import case_id_from
    from casework.errors import CaseworkError

    try:
        return case_id_from(case)
    except CaseworkError as e:
        fail(str(e), BAD_INPUT)


# --- talking to the engine -----------------------------------------------------------------


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run one command's async work; refusals become a red paragraph and an exit code."""
    from temporalio.service import RPCError

    from casework.client import CaseworkError
    from casework.yamlfiles import FileRefused

    try:
        import asyncio

        return asyncio.run(work)
    except CaseworkError as e:
        fail(str(e), REFUSED)
    except FileRefused as e:
        fail(str(e), BAD_INPUT)
    except RPCError as e:
        fail(f"Temporal refused the request: {e.message or e}", REFUSED)


def temporal_address() -> str:
    from temporalio.envconfig import ClientConfig

    from casework.client import CaseworkError

    try:
        config = ClientConfig.load_client_connect_config()
    except Exception as e:  # a bad TEMPORAL_CONFIG_FILE or profile
        raise CaseworkError(f"the Temporal client configuration cannot be read: {e}") from None
    return str(config.get("target_host") or "localhost:7233")


def unreachable(address: str) -> str:
    return (
        f"cannot reach Temporal at {address}: start the engine with `bash scripts/engine` "
        "(or `casework up`), or set TEMPORAL_ADDRESS"
    )


async def connect(settings: Settings | None = None, service: str | None = None) -> Client:
    """A client of the engine's namespace, encrypting with the ring of `settings`' state
    folder (or CASEWORK_KEYRING*). Temporal and the namespace are the state folder's engine's
    when it has one (`Globals.placement`), else the SDK's environment configuration.
    `service`: a long-running process (the door) that traces what it starts when
    OTEL_EXPORTER_OTLP_ENDPOINT is set (casework.observability)."""
    import worker
    from casework.client import CaseworkError

    placed = globals_of().placement()
    address = placed.temporal or temporal_address()
    mark_temporal_used()
    from casework.identity.keyring import KeyRingError

    interceptors = []
    if service:
        from casework.observability import tracing_interceptors

        interceptors = tracing_interceptors(service)
    try:
        return await worker.connect(
            settings=settings or placed.settings,
            target=placed.temporal,
            namespace=placed.namespace,
            interceptors=interceptors,
        )
    except KeyRingError as e:  # payloads are encrypted with the engine's ring (casework.codec)
        raise CaseworkError(str(e)) from None
    except RuntimeError as e:
        if "connect" not in str(e).lower():
            raise
        raise CaseworkError(unreachable(address)) from None


async def answered(work: Awaitable[T], what: str, hint: str = "") -> T:
    from casework.client import CaseworkError

    try:
        import asyncio

        return await asyncio.wait_for(work, ANSWER_TIMEOUT)
    except TimeoutError:
        task_queue = globals_of().placement().settings.task_queue
        raise CaseworkError(
            f"no answer to {what} within {ANSWER_TIMEOUT:.0f} s: is a casework worker running on "
            f"task queue {task_queue!r} (`casework up` or `casework worker`)?{hint}"
        ) from None


# --- the database --------------------------------------------------------------------------


def existing_store(ctx: typer.Context) -> Store:
    """The engine's database (the state folder's engine's, `Globals.placement`); a missing
    SQLite file is refused rather than created empty."""
    from casework.store import Store

    settings = globals_of(ctx).placement().settings
    url = settings.db_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            fail(
                f"there is no casework database at {path}: start the engine (`casework up`), "
                "or point at its state with --state-dir / CASEWORK_STATE_DIR or "
                "--db-url / CASEWORK_DB_URL",
                REFUSED,
            )
    from casework.identity.keyring import KeyRingError, load_keyring

    try:  # U5: the ring unseals a restricted case's texts; without one they stay sealed
        ring = load_keyring(settings.state_dir)
    except KeyRingError:
        ring = None
    return Store(url, ring)
