"""`casework`: run the engine and work cases from a terminal.

Every command is a thin layer over `casework.client` (the same functions integrations use), so
what it does can also be done with the `temporal` CLI or the Web UI (README). Bad input is
refused before anything is sent, with one paragraph that says what was wrong and how to fix
it, and a non-zero exit: 2 for bad input or a bad file, 1 for a refusal by the engine.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text
from temporalio.client import Client
from temporalio.service import RPCError

from casework.client import (
    CaseSummary,
    CaseworkError,
    act_on_case,
    case_list_query,
    check_case_id,
    list_cases,
    open_case,
    view_case,
)
from casework.domain.directory import Directory
from casework.domain.durations import format_duration
from casework.domain.models import (
    ACTION_MODELS,
    ActionResult,
    CaseView,
    OpenCaseRequest,
    OpenCaseResult,
)
from casework.domain.sla import SlaPolicy
from casework.engine import load_directory
from casework.files import FileRefused, load_model
from casework.settings import Settings

T = TypeVar("T")

ANSWER_TIMEOUT = 30.0
"""Seconds to wait for the worker to answer (open, show, an action) before saying so."""

WIDE = 200
"""Columns of output that is not a terminal (a pipe, a file, a test)."""
BAD_INPUT = 2
REFUSED = 1


class _Casework(typer.Typer):
    """The console script. temporalio's native threads can abort the interpreter's teardown
    after a client call (sdk-python#300, "PyGILState_Release ... finalizing"): once the
    command is done and its output flushed, a process that used Temporal exits at once."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except SystemExit as e:
            if not _used_temporal:
                raise
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)


_used_temporal = False


app = _Casework(
    name="casework",
    help="Support cases on Temporal: run the engine, open and work cases, check files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
directory_app = typer.Typer(
    help="Check or load the directory (accounts, contacts, products, engineers, rota).",
    no_args_is_help=True,
)
policy_app = typer.Typer(help="Check an SLA policy file (S5).", no_args_is_help=True)
app.add_typer(directory_app, name="directory")
app.add_typer(policy_app, name="policy")


class Output(StrEnum):
    text = "text"
    json = "json"


OutputOption = Annotated[Output, typer.Option(help="text or json.")]
CaseArgument = Annotated[str, typer.Argument(help="Case number: case-000123 or 123.")]
ActorOption = Annotated[str, typer.Option("--as", help="Who acts: a contact or engineer id.")]
DirectoryFile = Annotated[Path, typer.Argument(help="Directory YAML.")]


# --- plumbing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Globals:
    state_dir: Path | None = None
    db_url: str | None = None
    directory: Path | None = None
    policy: Path | None = None

    def settings(self, **overrides: Any) -> Settings:
        """Flags win over environment variables (casework.settings)."""
        fields: dict[str, Any] = {
            "state_dir": self.state_dir,
            "db_url": self.db_url,
            "directory_file": self.directory,
            "policy_file": self.policy,
        }
        fields.update({k: v for k, v in overrides.items() if v is not None})
        return Settings.from_env(**fields)


def _globals(ctx: typer.Context) -> Globals:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Globals) else Globals()


def out() -> Console:
    """stdout; piped or captured output is not cut to 80 columns."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else WIDE)


def fail(message: str, code: int = REFUSED) -> NoReturn:
    Console(stderr=True, highlight=False, soft_wrap=True).print(message, style="red", markup=False)
    raise typer.Exit(code)


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run one command's async work; refusals become a red paragraph and an exit code."""
    try:
        return asyncio.run(work)
    except CaseworkError as e:
        fail(str(e), REFUSED)
    except FileRefused as e:
        fail(str(e), BAD_INPUT)
    except RPCError as e:
        fail(f"Temporal refused the request: {e.message or e}", REFUSED)


def temporal_address() -> str:
    from temporalio.envconfig import ClientConfig

    try:
        config = ClientConfig.load_client_connect_config()
    except Exception as e:  # a bad TEMPORAL_CONFIG_FILE or profile
        raise CaseworkError(f"the Temporal client configuration cannot be read: {e}") from None
    return str(config.get("target_host") or "localhost:7233")


async def connect() -> Client:
    import worker

    global _used_temporal
    address = temporal_address()
    _used_temporal = True
    try:
        return await worker.connect()
    except RuntimeError as e:
        if "connect" not in str(e).lower():
            raise
        raise CaseworkError(
            f"cannot reach Temporal at {address}: start the engine with `bash scripts/engine` "
            "(or `casework up`), or set TEMPORAL_ADDRESS"
        ) from None


async def answered(work: Awaitable[T], what: str, hint: str = "") -> T:
    try:
        return await asyncio.wait_for(work, ANSWER_TIMEOUT)
    except TimeoutError:
        task_queue = Settings.from_env().task_queue
        raise CaseworkError(
            f"no answer to {what} within {ANSWER_TIMEOUT:.0f} s: is a casework worker running on "
            f"task queue {task_queue!r} (`casework up` or `casework worker`)?{hint}"
        ) from None


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
    try:
        return check_case_id(case)
    except CaseworkError as e:
        fail(str(e), BAD_INPUT)


def print_json(data: Any) -> None:
    if isinstance(data, BaseModel):
        typer.echo(data.model_dump_json(indent=2))
    else:
        typer.echo(json.dumps(data, indent=2, default=str))


def when(at: datetime | None) -> str:
    if at is None:
        return "-"
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --- global options ------------------------------------------------------------------------


@app.callback()
def main(
    ctx: typer.Context,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="CASEWORK_STATE_DIR",
            help="Folder of the engine's state (temporal.db, casework.db). Default: .state",
        ),
    ] = None,
    db_url: Annotated[
        str | None,
        typer.Option(
            envvar="CASEWORK_DB_URL",
            help="Casework database URL. Default: sqlite:///<state-dir>/casework.db",
        ),
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            envvar="CASEWORK_DIRECTORY",
            help="Directory YAML loaded at start. Default: the demo directory on first run",
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(envvar="CASEWORK_POLICY", help="SLA policy YAML (S5). Default: the S1 table"),
    ] = None,
) -> None:
    """Support cases on Temporal. TEMPORAL_ADDRESS etc. say where Temporal is (default
    localhost:7233); CASEWORK_TASK_QUEUE names the worker's task queue (default casework)."""
    ctx.obj = Globals(state_dir=state_dir, db_url=db_url, directory=directory, policy=policy)


# --- running the engine --------------------------------------------------------------------


@app.command()
def up(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Temporal frontend (gRPC) port.")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port.")] = 8233,
    state_dir: Annotated[
        Path | None, typer.Option(help="State folder (Temporal history, database, server log).")
    ] = None,
    directory: Annotated[Path | None, typer.Option(help="Directory YAML to load.")] = None,
    policy: Annotated[Path | None, typer.Option(help="SLA policy YAML (S5).")] = None,
) -> None:
    """Run the engine on this machine: Temporal dev server, worker, database, demo directory.

    Ctrl+C stops everything it started. Cases survive a restart (state in <state>/temporal.db).
    """
    from casework import up as runner

    global _used_temporal
    _used_temporal = True
    settings = _globals(ctx).settings(
        state_dir=state_dir, directory_file=directory, policy_file=policy
    )
    options = runner.UpOptions(settings=settings, port=port, ui_port=ui_port)
    try:
        code = runner.main(options)
    except FileRefused as e:
        fail(f"{e}\nNothing was started: fix the file and run `casework up` again.", BAD_INPUT)
    except runner.UpRefused as e:
        fail(str(e), e.code)
    raise typer.Exit(code)


@app.command("worker")
def worker_command(ctx: typer.Context) -> None:
    """Run a worker only, against the Temporal that TEMPORAL_ADDRESS etc. name (a cluster
    or Temporal Cloud); the database and files come from the global options."""
    import logging

    import worker

    settings = _globals(ctx).settings()
    try:
        load_model_checks(settings)
        temporal_address()
    except CaseworkError as e:
        fail(str(e), BAD_INPUT)
    logging.basicConfig(level=logging.INFO)
    global _used_temporal
    _used_temporal = True

    async def serve() -> None:
        try:
            await worker.main(settings)
        except RuntimeError as e:
            if "connect" not in str(e).lower():
                raise
            raise CaseworkError(
                f"cannot reach Temporal at {temporal_address()}: start the engine with "
                "`bash scripts/engine` (or `casework up`), or set TEMPORAL_ADDRESS"
            ) from None

    try:
        run(serve())
    except KeyboardInterrupt:
        pass


def load_model_checks(settings: Settings) -> None:
    """Check the policy and directory files before starting anything (FileRefused -> exit 2)."""
    from casework.up import check_files

    try:
        check_files(settings)
    except FileRefused as e:
        fail(str(e), BAD_INPUT)


# --- opening and reading cases -------------------------------------------------------------

OPEN_OPTIONS = {
    "request_id": "--request-id",
    "channel": "--channel",
    "account_id": "--account",
    "contact_id": "--contact",
    "product": "--product",
    "version": "--version",
    "priority": "--priority",
    "category": "--category",
    "description": "--description",
    "received_by": "--received-by",
}


@app.command("open")
def open_command(
    channel: Annotated[str, typer.Option(help="phone or web (A2).")],
    account: Annotated[str, typer.Option(help="Account id, e.g. acme.")],
    contact: Annotated[str, typer.Option(help="Contact id on that account, e.g. acme-alice.")],
    product: Annotated[str, typer.Option(help="Product, e.g. FortiGate.")],
    version: Annotated[str, typer.Option(help="Product version, e.g. 7.4.3.")],
    priority: Annotated[str, typer.Option(help="P1, P2 or P3 (S1).")],
    description: Annotated[str, typer.Option(help="What happened.")],
    category: Annotated[
        str, typer.Option(help="support or security_vulnerability (A5).")
    ] = "support",
    request_id: Annotated[
        str | None,
        typer.Option(
            help="Idempotency key: the same id again returns the same case. Default: new."
        ),
    ] = None,
    received_by: Annotated[
        str | None, typer.Option(help="The Customer Care agent who took a phone call.")
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """Open a case; prints its number. Retrying with the same --request-id is safe."""
    fields = {
        "request_id": request_id or uuid.uuid4().hex,
        "channel": channel.strip().lower(),
        "account_id": account,
        "contact_id": contact,
        "product": product,
        "version": version,
        "priority": priority,
        "category": category.strip().lower(),
        "description": description,
        "received_by": received_by,
    }
    try:
        request = OpenCaseRequest.model_validate(fields)
    except ValidationError as e:
        fail(f"case not opened: {explain(e, OPEN_OPTIONS)}", BAD_INPUT)

    async def work() -> OpenCaseResult:
        client = await connect()
        return await answered(
            open_case(client, request, task_queue=Settings.from_env().task_queue),
            f"open request {request.request_id}",
            f" The request is kept: run the same command with --request-id "
            f"{request.request_id} to get its case number.",
        )

    result = run(work())
    if output is Output.json:
        print_json(result)
        return
    if result.created:
        out().print(f"{result.case_id} opened (request id {request.request_id})", markup=False)
    else:
        out().print(
            f"{result.case_id} (already opened for request id {request.request_id})", markup=False
        )


@app.command()
def show(
    case: CaseArgument,
    viewer: Annotated[
        str, typer.Option("--as", help="Who is looking (need-to-know, U5).")
    ] = "operator",
    output: OutputOption = Output.text,
) -> None:
    """Show a case: where it stands, its SLA clock, what can be done, and its feed (E4)."""
    case_id = case_number(case)

    async def work() -> CaseView:
        client = await connect()
        return await answered(view_case(client, case_id, viewer), f"the view of {case_id}")

    view = run(work())
    if output is Output.json:
        print_json(view)
    else:
        render_case(view)


def _sla_lines(view: CaseView) -> list[tuple[str, Text]]:
    sla = view.sla
    lines = [("SLA target", Text(f"first response within {format_duration(sla.target)}"))]
    if sla.responded_at is not None:
        lines.append(("SLA clock", Text(f"stopped: first response at {when(sla.responded_at)}")))
    elif view.state == "closed":
        lines.append(("SLA clock", Text("stopped: the case is closed")))
    else:
        due = Text(f"due {when(sla.due_at)}")
        # The query answers as of the case's last event; the time left is counted from now.
        left = sla.due_at - datetime.now(UTC)
        if sla.paused_reason is None and left > timedelta(0):
            due.append(f" ({format_duration(left)} left)")
        if sla.paused_reason:
            due.append(f"; paused: {sla.paused_reason}")
        lines.append(("SLA clock", due))
    if sla.breached_at is not None:
        lines.append(
            ("breach", Text(f"BREACHED at {when(sla.breached_at)} (S3)", style="bold red"))
        )
    return lines


def render_case(view: CaseView) -> None:
    console = out()
    title = Text(f"{view.case_id}  ", style="bold")
    title.append(view.state, style="bold green" if view.state != "closed" else "bold")
    console.print(title)
    owner = f"{view.owner.engineer_name} ({view.owner.engineer_id})" if view.owner else "unassigned"
    rows: list[tuple[str, Text]] = [
        ("account", Text(f"{view.account_name} ({view.account_id}), contact {view.contact_id}")),
        ("level", Text(f"{view.level.value}, owner {owner}, queue {view.queue}")),
        (
            "priority",
            Text(
                f"{view.priority.value}, tier {view.tier.value}, category {view.category.value}, "
                f"via {view.channel.value}"
            ),
        ),
        ("product", Text(f"{view.product} {view.version}")),
        ("opened", Text(when(view.opened_at))),
        *_sla_lines(view),
    ]
    if view.problem_report:
        rows.append(("problem report", Text(view.problem_report)))
    if view.waiting_for:
        rows.append(
            (
                "waiting for",
                Text(", ".join(w.replace("_", " ") for w in view.waiting_for), style="yellow"),
            )
        )
    if view.resolution:
        rows.append(("resolution", Text(view.resolution)))
    if view.closed_at:
        rows.append(("closed", Text(when(view.closed_at))))
    rows.append(("allowed now", Text(", ".join(view.allowed_actions) or "nothing")))
    rows.append(("description", Text(view.description)))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    for label, value in rows:
        grid.add_row(label, value)
    console.print(grid)
    feed = Table(title="feed", title_justify="left", show_lines=False)
    for column in ("time", "actor", "event", "text"):
        feed.add_column(column, no_wrap=column != "text")
    for entry in view.feed:
        style = "red" if entry.refused else None
        kind = f"{entry.kind} (refused)" if entry.refused else entry.kind
        feed.add_row(
            Text(when(entry.at)), Text(entry.actor), Text(kind), Text(entry.text), style=style
        )
    console.print(feed)


@app.command("list")
def list_command(
    state: Annotated[
        str | None,
        typer.Option(help="queued, in_progress, waiting_on_customer, resolved or closed."),
    ] = None,
    priority: Annotated[str | None, typer.Option(help="P1, P2 or P3.")] = None,
    tier: Annotated[str | None, typer.Option(help="GOLD or PLATINUM.")] = None,
    breached: Annotated[
        bool | None,
        typer.Option(
            "--breached/--not-breached", help="Only cases that missed (or not) their SLA."
        ),
    ] = None,
    account: Annotated[str | None, typer.Option(help="Account id.")] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=1000, help="At most this many cases, newest first.")
    ] = 50,
    output: OutputOption = Output.text,
) -> None:
    """List cases by their search attributes (the same query works in the Web UI)."""
    try:
        query = case_list_query(
            state=state, priority=priority, tier=tier, breached=breached, account=account
        )
    except CaseworkError as e:
        fail(str(e), BAD_INPUT)

    async def work() -> list[CaseSummary]:
        client = await connect()
        return await list_cases(client, query, limit=limit)

    cases = run(work())
    if output is Output.json:
        print_json([c.model_dump(mode="json") for c in cases])
        return
    if not cases:
        out().print(f"no cases match: {query}", markup=False)
        return
    table = Table()
    for column in ("case", "state", "priority", "tier", "level", "owner", "account", "breached"):
        table.add_column(column, no_wrap=True)
    table.add_column("SLA due", no_wrap=True)
    for c in cases:
        table.add_row(
            c.case_id,
            c.state or "-",
            c.priority or "-",
            c.tier or "-",
            c.level or "-",
            c.owner or "-",
            c.account or "-",
            Text("yes", style="bold red") if c.breached else Text("no"),
            when(c.sla_due),
        )
    out().print(table)


# --- actions on a case (E4) ----------------------------------------------------------------

ACTION_OPTIONS = {
    "actor": "--as",
    "text": "--text",
    "items": "--item",
    "reason": "--reason",
    "summary": "--summary",
    "priority": "--priority",
    "resolution": "--resolution",
}


def act(case: str, action: str, **fields: Any) -> None:
    """Validate, send the action as an update, print its result; a refusal exits 1."""
    case_id = case_number(case)
    payload = {k: v for k, v in fields.items() if v is not None}
    try:
        ACTION_MODELS[action].model_validate(payload)
    except ValidationError as e:
        fail(f"{action.replace('_', ' ')} not sent: {explain(e, ACTION_OPTIONS)}", BAD_INPUT)

    async def work() -> ActionResult:
        client = await connect()
        return await answered(act_on_case(client, case_id, action, payload), f"{action}")

    result = run(work())
    out().print(
        f"{result.case_id}: {result.message} (state {result.state}, level {result.level.value})",
        markup=False,
    )


@app.command()
def respond(
    case: CaseArgument, actor: ActorOption, text: Annotated[str, typer.Option(help="The answer.")]
) -> None:
    """The owning engineer answers the customer; the first answer stops the SLA clock (S2)."""
    act(case, "respond", actor=actor, text=text)


@app.command()
def comment(
    case: CaseArgument, actor: ActorOption, text: Annotated[str, typer.Option(help="The comment.")]
) -> None:
    """A Case Comment by a contact of the account or the owning engineer (E4)."""
    act(case, "comment", actor=actor, text=text)


@app.command("request-info")
def request_info(
    case: CaseArgument,
    actor: ActorOption,
    item: Annotated[
        list[str],
        typer.Option(
            help="What the customer should send (repeat): hardware, software_version, logs, "
            "events_before_problem, configuration, deployment_type, device_locations."
        ),
    ],
    text: Annotated[str | None, typer.Option(help="A note to the customer.")] = None,
) -> None:
    """The owning engineer asks the customer for information; the case waits on them (E5)."""
    act(case, "request_info", actor=actor, items=[i.strip().lower() for i in item], text=text)


@app.command("provide-info")
def provide_info(
    case: CaseArgument, actor: ActorOption, text: Annotated[str, typer.Option(help="The answer.")]
) -> None:
    """A contact answers a request for information; the case goes back to the engineer (E5)."""
    act(case, "provide_info", actor=actor, text=text)


@app.command()
def escalate(
    case: CaseArgument, actor: ActorOption, reason: Annotated[str, typer.Option(help="Why.")]
) -> None:
    """The owning engineer hands the case to the next level, L0 -> L1 -> L2 -> L3 (E2)."""
    act(case, "escalate", actor=actor, reason=reason)


@app.command("file-pr")
def file_pr(
    case: CaseArgument,
    actor: ActorOption,
    summary: Annotated[str, typer.Option(help="The problem.")],
) -> None:
    """At L3, file a Problem Report to product engineering; the case stays open (E2)."""
    act(case, "file_problem_report", actor=actor, summary=summary)


@app.command("change-priority")
def change_priority(
    case: CaseArgument,
    actor: ActorOption,
    priority: Annotated[str, typer.Option(help="P1, P2 or P3.")],
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """Change Priority: the SLA target is recomputed from the opening time at once (S4)."""
    act(case, "change_priority", actor=actor, priority=priority, reason=reason)


@app.command()
def resolve(
    case: CaseArgument,
    actor: ActorOption,
    resolution: Annotated[str, typer.Option(help="The fix.")],
) -> None:
    """The owning engineer resolves the case; the customer can close or reopen it."""
    act(case, "resolve", actor=actor, resolution=resolution)


@app.command()
def close(
    case: CaseArgument,
    actor: ActorOption,
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """A contact closes the case, at any time (E4)."""
    act(case, "close", actor=actor, reason=reason)


@app.command()
def reopen(
    case: CaseArgument, actor: ActorOption, reason: Annotated[str, typer.Option(help="Why.")]
) -> None:
    """A contact reopens a resolved case; it goes back to its engineer."""
    act(case, "reopen", actor=actor, reason=reason)


# --- the outbox ----------------------------------------------------------------------------


def _existing_store(ctx: typer.Context) -> Any:
    from casework.store import Store

    settings = _globals(ctx).settings()
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
    return Store(url)


@app.command()
def outbox(
    ctx: typer.Context,
    case: Annotated[str | None, typer.Option(help="Only this case's notifications.")] = None,
    output: OutputOption = Output.text,
) -> None:
    """Notifications queued for customers, engineers and Escalation Managers."""
    case_id = case_number(case) if case else None
    store = _existing_store(ctx)
    try:
        rows = store.notifications(case_id)
    finally:
        store.dispose()
    if output is Output.json:
        print_json(rows)
        return
    if not rows:
        out().print("no notifications" + (f" for {case_id}" if case_id else ""), markup=False)
        return
    table = Table()
    for column in ("time", "case", "to", "address", "subject", "body"):
        table.add_column(column, no_wrap=column in ("time", "case"))
    for r in rows:
        table.add_row(
            when(r["created_at"].replace(tzinfo=r["created_at"].tzinfo or UTC)),
            Text(r["case_id"] or "-"),
            Text(f"{r['recipient_kind']} {r['recipient_id']}"),
            Text(r["address"] or "-"),
            Text(r["subject"]),
            Text(r["body"]),
        )
    out().print(table)


# --- files ---------------------------------------------------------------------------------


def _check_directory(file: Path) -> Directory:
    try:
        return load_directory(file)
    except FileRefused as e:
        fail(f"{e}\nThe directory was not loaded.", BAD_INPUT)


def _directory_summary(directory: Directory) -> str:
    contacts = sum(len(a.contacts) for a in directory.accounts)
    return (
        f"{len(directory.accounts)} accounts, {contacts} contacts, {len(directory.products)} "
        f"products, {len(directory.engineers)} engineers, "
        f"{len(directory.escalation_managers)} Escalation Managers"
    )


@directory_app.command("check")
def directory_check(file: DirectoryFile) -> None:
    """Validate a directory file; every problem is shown as file:line: path: reason."""
    directory = _check_directory(file)
    out().print(f"{file}: valid: {_directory_summary(directory)}", markup=False)


@directory_app.command("load")
def directory_load(ctx: typer.Context, file: DirectoryFile) -> None:
    """Validate a directory file, then replace the directory in the casework database.

    The running worker uses it for the next intake and routing; open cases keep their owner."""
    from casework.store import Store

    directory = _check_directory(file)
    settings = _globals(ctx).settings()
    settings.ensure_state_dir()
    store = Store(settings.db_url)
    try:
        store.replace_directory(directory)
    finally:
        store.dispose()
    out().print(
        f"loaded {file} into {settings.db_url}: {_directory_summary(directory)}", markup=False
    )


@directory_app.command("accounts")
def directory_accounts(ctx: typer.Context) -> None:
    """The accounts in the loaded directory, with their tier and contacts."""
    from sqlalchemy import select

    from casework.store import accounts

    store = _existing_store(ctx)
    try:
        with store.engine.connect() as conn:
            ids = list(conn.execute(select(accounts.c.id).order_by(accounts.c.id)).scalars())
        found = [store.account(i) for i in ids]
        engineers = store.engineers()
        products = store.product_names()
    finally:
        store.dispose()
    table = Table(title="accounts", title_justify="left")
    for column in ("account", "name", "tier", "users", "contacts"):
        table.add_column(column)
    for a in found:
        if a is not None:
            table.add_row(
                a.id, a.name, a.tier.value, str(a.users), ", ".join(c.id for c in a.contacts)
            )
    out().print(table)
    people = Table(title="engineers", title_justify="left")
    for column in ("engineer", "name", "level", "skills"):
        people.add_column(column)
    for e in engineers:
        people.add_row(e.id, e.name, e.level.value, ", ".join(e.skills))
    out().print(people)
    out().print(f"products: {', '.join(products)}", markup=False)


@policy_app.command("check")
def policy_check(file: Annotated[Path, typer.Argument(help="SLA policy YAML.")]) -> None:
    """Validate an SLA policy file (S5) and show its first-response targets."""
    try:
        policy = load_model(file, SlaPolicy)
    except FileRefused as e:
        fail(f"{e}\nThe policy was not used.", BAD_INPUT)
    out().print(f"{file}: valid; first-response targets (S1):", markup=False)
    table = Table()
    table.add_column("priority")
    tiers = list(policy.first_response_targets)
    for tier in tiers:
        table.add_column(tier.value)
    for priority in next(iter(policy.first_response_targets.values())):
        table.add_row(
            priority.value,
            *(format_duration(policy.first_response_targets[t][priority]) for t in tiers),
        )
    out().print(table)
    out().print(f"routing retry: {format_duration(policy.routing_retry)}", markup=False)
