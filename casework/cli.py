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
import re
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

from casework.attachments import AttachmentRefused, AttachmentStore
from casework.client import (
    CaseSummary,
    CaseworkError,
    act_on_case,
    case_list_query,
    check_case_id,
    list_cases,
    open_case,
    read_case,
)
from casework.domain.directory import Account, Directory
from casework.domain.durations import format_duration
from casework.domain.models import (
    ACTION_MODELS,
    ActionResult,
    CaseView,
    OpenCaseRequest,
    OpenCaseResult,
    ViewRequest,
)
from casework.domain.sla import SlaPolicy, clock_for
from casework.domain.us_citizen import notification_withheld, restricted_member_refusal
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
account_app = typer.Typer(
    help="Look at an account, or change its US Citizen Support flag (U1).", no_args_is_help=True
)
app.add_typer(directory_app, name="directory")
app.add_typer(policy_app, name="policy")
app.add_typer(account_app, name="account")


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


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024:
            return f"{value:.1f} {unit}"
    return f"{value / 1024:.1f} TiB"


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
    "partner_id": "--partner",
}


@app.command("open")
def open_command(
    channel: Annotated[
        str, typer.Option(help="phone or web (A2); partner for a partner's case (P3).")
    ],
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
    partner: Annotated[
        str | None,
        typer.Option(help="With --channel partner: the partner opening the case (P3)."),
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
        "partner_id": partner,
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
    if output is Output.json:  # a case: case_id and created; a referral (P2): no case_id
        typer.echo(result.model_dump_json(indent=2, exclude_none=True))
        return
    if result.referred_to:  # P2: a PAR customer is referred to their partner
        again = "" if result.created else ", already referred"
        out().print(
            f"referred to {result.referred_to}: {result.partner_contact}; no case opened "
            f"({result.referral_id}, request id {request.request_id}{again})",
            markup=False,
        )
    elif result.created:
        out().print(f"{result.case_id} opened (request id {request.request_id})", markup=False)
    else:
        out().print(
            f"{result.case_id} (already opened for request id {request.request_id})", markup=False
        )


@app.command()
def show(
    case: CaseArgument,
    viewer: Annotated[
        str,
        typer.Option(
            "--as",
            help="Who is looking (U5): on a US Citizen Support case only the restricted "
            "queue's members and the account's contacts see content; operator sees none.",
        ),
    ] = "operator",
    output: OutputOption = Output.text,
) -> None:
    """Show a case: where it stands, its SLA clock, what can be done, and its feed (E4).

    A running US Citizen Support case is read with its audited `read` update, so a refused
    read is on the case's feed (U5); any other case, and a closed one, with the `view` query."""
    case_id = case_number(case)
    try:
        ViewRequest(viewer=viewer)
    except ValidationError as e:
        fail(f"case not shown: {explain(e, {'viewer': '--as'})}", BAD_INPUT)

    async def work() -> CaseView:
        client = await connect()
        return await answered(read_case(client, case_id, viewer), f"the view of {case_id}")

    view = run(work())
    if output is Output.json:
        print_json(view)
    else:
        render_case(view, viewer)


def _sla_lines(view: CaseView) -> list[tuple[str, Text]]:
    sla = view.sla
    clock = view.clock
    on = "around the clock"
    if clock.kind == "business_hours":
        on = f"business hours, Mon-Fri 09:00-17:00 {clock.zone} without holidays (U4)"
    lines = [
        (
            "SLA target",
            Text(f"first response within {format_duration(sla.target)} of service time, {on}"),
        )
    ]
    if sla.responded_at is not None:
        lines.append(("SLA clock", Text(f"stopped: first response at {when(sla.responded_at)}")))
    elif view.state == "closed":
        lines.append(("SLA clock", Text("stopped: the case is closed")))
    elif sla.breached_at is None:
        # The view is as of the case's last event; pause and time left are counted from now.
        now = datetime.now(UTC)
        try:
            service = clock_for(clock)
            paused = service.paused_reason(now)
            left = service.service_time(now, sla.due_at)
        except ValueError:  # a clock the case cannot describe: say what the case said
            paused, left = view.sla_paused_reason, sla.due_at - now
        due = Text(f"due {when(sla.due_at)}")
        if left > timedelta(0):
            due.append(f" ({format_duration(left)} of service time left)")
        lines.append(("SLA clock", due))
        if paused:
            lines.append(("clock paused", Text(paused, style="yellow")))
    else:
        lines.append(("SLA clock", Text(f"was due {when(sla.due_at)}")))
    if sla.breached_at is not None:
        lines.append(
            ("breach", Text(f"BREACHED at {when(sla.breached_at)} (S3)", style="bold red"))
        )
    return lines


def _withheld_notice(viewer: str) -> str:
    notice = (
        f"content withheld: {viewer} is neither a member of the restricted queue nor a contact "
        "of the account, so notes, attachments and contacts are shown as existing, not what "
        "they say (U5)"
    )
    if viewer == "operator":
        notice += (
            "; the default viewer, operator, sees no content of a restricted case: look with "
            "--as and a restricted-queue engineer (`casework directory engineers`) or a contact"
        )
    return notice


def _partner_lines(view: CaseView) -> list[tuple[str, Text]]:
    """P3/P4: whose partner case this is, and its escalations to our L3; or, on a vendor
    escalation, the partner case it came from."""
    rows: list[tuple[str, Text]] = []
    if view.partner_id:
        rows.append(("partner", Text(f"{view.partner_id} (Partner Branded Support)")))
    if view.escalated_from:
        rows.append(
            ("escalated from", Text(f"partner case {view.escalated_from}; we talk to the partner"))
        )
    for e in view.vendor_escalations:
        text = f"{e.escalation_id}: {e.status}, {e.state.replace('_', ' ')}"
        if e.resolution:
            text += f"; resolution: {e.resolution}"
        rows.append(("vendor escalation", Text(text, style="yellow" if e.status == "open" else "")))
    return rows


def render_case(view: CaseView, viewer: str = "operator") -> None:
    console = out()
    title = Text(f"{view.case_id}  ", style="bold")
    title.append(view.state, style="bold green" if view.state != "closed" else "bold")
    console.print(title)
    if view.restricted:
        console.print(
            Text("US Citizen Support — need-to-know (restricted queue only)", style="bold yellow")
        )
    if view.content_withheld:
        console.print(Text(_withheld_notice(viewer), style="yellow"))
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
    rows += _partner_lines(view)
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
    if view.attachments:
        files = Table(title="attachments", title_justify="left")
        for column in ("id", "name", "kind", "size", "by", "at"):
            files.add_column(column, no_wrap=column != "name")
        for a in view.attachments:
            files.add_row(
                a.id, Text(a.name), a.kind, _size(a.size), Text(a.uploaded_by), when(a.uploaded_at)
            )
        console.print(files)
    if view.log_approvals:
        approvals = Table(title="log sharing approvals (U6)", title_justify="left")
        for column in ("request", "logs", "status", "asked by", "reminder", "expires", "PR"):
            approvals.add_column(column, no_wrap=column not in ("logs", "status"))
        for r in view.log_approvals:
            status: str = r.status
            if r.decided_by:
                status += f" by {r.decided_by} at {when(r.decided_at)}"
            elif r.decided_at:
                status += f" at {when(r.decided_at)}"
            approvals.add_row(
                r.request_id,
                ", ".join(r.logs),
                Text(status, style={"approved": "green", "pending": "yellow"}.get(r.status, "red")),
                Text(r.requested_by),
                when(r.reminder_at) + (" (sent)" if r.reminded else ""),
                when(r.expires_at),
                r.pr_id or "-",
            )
        console.print(approvals)
    if view.escalations:
        console.print(escalations_table(view))
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
    restricted: Annotated[
        bool | None,
        typer.Option(
            "--restricted/--not-restricted",
            help="Only US Citizen Support cases (or only the others).",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=1000, help="At most this many cases, newest first.")
    ] = 50,
    output: OutputOption = Output.text,
    security: Annotated[
        bool, typer.Option("--security", help="Only security vulnerability issues (A5).")
    ] = False,
) -> None:
    """List cases by their search attributes (the same query works in the Web UI).

    A row carries no content of a case (no description, notes or contacts), so the list is
    the same for every viewer (U5); a restricted case is marked as such."""
    try:
        query = case_list_query(
            state=state,
            priority=priority,
            tier=tier,
            breached=breached,
            account=account,
            restricted=restricted,
            security=security,
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
    table.add_column("restricted", no_wrap=True)
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
            Text("US citizen", style="yellow")
            if c.restricted
            else Text("security", style="magenta")
            if c.security
            else Text("-"),
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
    "name": "--name",
    "kind": "--kind",
    "sha256": "FILE",
    "size": "FILE",
    "logs": "--log",
    "note": "--note",
    "request_id": "--request",
}


def checked(action: str, **fields: Any) -> dict[str, Any]:
    """The action's payload, validated as the engine will (bad input: exit 2, nothing sent)."""
    payload = {k: v for k, v in fields.items() if v is not None}
    try:
        ACTION_MODELS[action].model_validate(payload)
    except ValidationError as e:
        fail(f"{action.replace('_', ' ')} not sent: {explain(e, ACTION_OPTIONS)}", BAD_INPUT)
    return payload


def send(case_id: str, action: str, payload: dict[str, Any]) -> ActionResult:
    """Send the action as an update and print its result; a refusal exits 1."""

    async def work() -> ActionResult:
        client = await connect()
        return await answered(act_on_case(client, case_id, action, payload), f"{action}")

    result = run(work())
    out().print(
        f"{result.case_id}: {result.message} (state {result.state}, level {result.level.value})",
        markup=False,
    )
    return result


def act(case: str, action: str, **fields: Any) -> None:
    """Validate, send the action as an update, print its result; a refusal exits 1."""
    case_id = case_number(case)
    send(case_id, action, checked(action, **fields))


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


# --- customer escalation and the Escalation Manager ladder (E3, E4) ------------------------

ACTION_OPTIONS.update({"recorded_by": "--recorded-by", "channel": "--by-phone"})


class EscalationReasonOption(StrEnum):
    lack_of_progress = "lack_of_progress"
    expertise = "expertise"
    business_impact = "business_impact"
    other = "other"


def _escalation_sent(result: ActionResult) -> None:
    if result.escalation_id and result.escalation_manager:
        out().print(
            f"escalation {result.escalation_id}: with {result.escalation_manager}", markup=False
        )


def escalations_table(view: CaseView) -> Table:
    """E3: each escalation, who has it now and where it stands on the ladder."""
    table = Table(title="escalations (E3)", title_justify="left")
    for column in ("id", "channel", "reason", "with", "status", "raised"):
        table.add_column(column, no_wrap=column not in ("reason", "status"))
    for e in view.escalations:
        if e.ended_at:
            status, style = f"ended {when(e.ended_at)}: {e.ended_because or ''}", "dim"
        elif e.acknowledged_at:
            status, style = (
                f"acknowledged by {e.acknowledged_by} {when(e.acknowledged_at)}",
                "green",
            )
        elif e.step_due_at:
            status, style = f"to acknowledge by {when(e.step_due_at)}", "yellow"
        else:
            status, style = "unacknowledged; end of the ladder", "red"
        manager = e.ladder[e.step]
        table.add_row(
            e.escalation_id,
            e.channel,
            Text(e.reason.replace("_", " ")),
            Text(f"{manager.name} ({manager.id})"),
            Text(status, style=style),
            when(e.raised_at),
        )
    return table


@app.command("escalate-now")
def escalate_now(
    case: CaseArgument,
    actor: Annotated[str, typer.Option("--as", help="The contact of the account escalating.")],
    reason: Annotated[EscalationReasonOption, typer.Option(help="Why the customer escalates.")],
    note: Annotated[str | None, typer.Option(help="In the customer's words.")] = None,
    priority: Annotated[
        str | None, typer.Option(help="Raise the priority with it: P1 or P2 (E4, S4).")
    ] = None,
    by_phone: Annotated[
        bool, typer.Option("--by-phone", help="Customer Care records a phone escalation.")
    ] = False,
    recorded_by: Annotated[
        str | None,
        typer.Option(help="With --by-phone: the Customer Care (L0) engineer who took the call."),
    ] = None,
) -> None:
    """Escalate Now (E3): a contact escalates the case, online or by phone through Customer
    Care; the answer names the escalation and the Escalation Manager who has it."""
    if by_phone and recorded_by is None:
        fail(
            "escalate now not sent: --by-phone needs --recorded-by <Customer Care engineer>",
            BAD_INPUT,
        )
    if recorded_by is not None and not by_phone:
        fail("escalate now not sent: --recorded-by goes with --by-phone", BAD_INPUT)
    payload = checked(
        "escalate_now",
        actor=actor,
        reason=reason.value,
        note=note,
        priority=priority,
        channel="phone" if by_phone else "online",
        recorded_by=recorded_by,
    )
    _escalation_sent(send(case_number(case), "escalate_now", payload))


@app.command()
def acknowledge(
    case: CaseArgument,
    actor: Annotated[str, typer.Option("--as", help="The Escalation Manager who has it.")],
    note: Annotated[str | None, typer.Option(help="A note for the feed.")] = None,
) -> None:
    """The Escalation Manager who has the escalation acknowledges it; it stays with them (E3)."""
    act(case, "acknowledge_escalation", actor=actor, note=note)


@app.command("de-escalate")
def de_escalate(
    case: CaseArgument,
    actor: Annotated[str, typer.Option("--as", help="The Escalation Manager who has it.")],
    note: Annotated[str | None, typer.Option(help="Why it ends.")] = None,
) -> None:
    """The Escalation Manager who has the escalation ends it (E3)."""
    act(case, "de_escalate", actor=actor, note=note)


# --- files on a case and the customer's approval before logs go to engineering (U5, U6) ---


class AttachmentKind(StrEnum):
    log = "log"
    configuration = "configuration"
    other = "other"


@app.command()
def attach(
    ctx: typer.Context,
    case: CaseArgument,
    actor: ActorOption,
    file: Annotated[Path, typer.Argument(help="The file to attach (a log, a configuration).")],
    kind: Annotated[
        AttachmentKind, typer.Option(help="log, configuration or other.")
    ] = AttachmentKind.log,
    name: Annotated[
        str | None, typer.Option(help="Its name on the case. Default: the file's name.")
    ] = None,
) -> None:
    """Attach a file: a contact of the account or the owning engineer (E5).

    The file is copied into the attachment store (<state>/attachments/, by content); the case
    records only a reference (name, kind, SHA-256, size), never the bytes (U5). Prints its id
    on the case, att-N, for `request-log-approval --log`."""
    case_id = case_number(case)
    try:
        AttachmentStore.check(file)
    except AttachmentRefused as e:
        fail(f"attach not sent: {e}", BAD_INPUT)
    fields = {"actor": actor, "name": name or file.name, "kind": kind.value}
    checked("attach", **fields, sha256="0" * 64, size=0)
    store = AttachmentStore.for_settings(_globals(ctx).settings())
    try:
        stored = store.put(file)
    except AttachmentRefused as e:
        fail(f"attach not sent: {e}", BAD_INPUT)
    result = send(
        case_id, "attach", checked("attach", **fields, sha256=stored.sha256, size=stored.size)
    )
    found = re.search(r"att-\d+", result.message)
    out().print(
        f"{found.group() if found else 'attached'}: {fields['name']} ({kind.value}, "
        f"{_size(stored.size)}, sha256 {stored.sha256}) in {stored.path}",
        markup=False,
    )


@app.command("request-log-approval")
def request_log_approval(
    case: CaseArgument,
    actor: ActorOption,
    log: Annotated[
        list[str], typer.Option(help="A log attachment to share, e.g. att-1 (repeat for more).")
    ],
    note: Annotated[str | None, typer.Option(help="Why engineering needs them.")] = None,
) -> None:
    """U6: the owning engineer at L3 asks the customer before any log goes to product
    engineering with a Problem Report. An authorised contact approves or declines; the
    customer is reminded and the request expires, in business days (policy)."""
    act(case, "request_log_approval", actor=actor, logs=[i.strip() for i in log], note=note)


RequestOption = Annotated[
    str | None,
    typer.Option(
        "--request", help="The request id, e.g. case-000001-logs-1. Default: the pending one."
    ),
]


@app.command("approve-logs")
def approve_logs(case: CaseArgument, actor: ActorOption, request: RequestOption = None) -> None:
    """U6: an authorised contact (approver) lets exactly the named logs go to engineering,
    with this case's next PR only."""
    act(case, "approve_logs", actor=actor, request_id=request)


@app.command("decline-logs")
def decline_logs(
    case: CaseArgument,
    actor: ActorOption,
    request: RequestOption = None,
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """U6: an authorised contact declines; the case goes on without sharing logs (resolution
    may take significantly longer)."""
    act(case, "decline_logs", actor=actor, request_id=request, reason=reason)


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


OUTBOX_WITHHELD = "[withheld]"


@app.command()
def outbox(
    ctx: typer.Context,
    case: Annotated[str | None, typer.Option(help="Only this case's notifications.")] = None,
    viewer: Annotated[
        str,
        typer.Option(
            "--as",
            help="Who is reading (U5): bodies about US Citizen Support cases are shown only to "
            "the restricted queue's members and the account's contacts.",
        ),
    ] = "operator",
    output: OutputOption = Output.text,
) -> None:
    """Notifications queued for customers, engineers and Escalation Managers.

    A notification about a US Citizen Support case shows [withheld] for its body and, when it
    goes to the customer, for the contact and address, unless --as names a restricted-queue
    member or a contact of that account (U5)."""
    case_id = case_number(case) if case else None
    store = _existing_store(ctx)
    try:
        rows = store.outbox.rows(case_id)
        members = set(store.directory.restricted_members())
        contacts_of: dict[str, set[str]] = {}
        for account_id in {r["account_id"] for r in rows if r["restricted"] and r["account_id"]}:
            found = store.directory.account(account_id)
            contacts_of[account_id] = {c.id for c in found.contacts} if found else set()
    finally:
        store.dispose()
    for r in rows:
        restricted, account_id = r.pop("restricted"), r.pop("account_id")
        r["withheld"] = notification_withheld(
            restricted, account_id, viewer, members, contacts_of.get(account_id or "", set())
        )
        if r["withheld"]:  # U5: what it says, and who the customer's contacts are
            r["body"] = OUTBOX_WITHHELD
            if r["recipient_kind"] == "contact":
                r["recipient_id"], r["address"] = "[contact]", OUTBOX_WITHHELD
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
            Text(r["body"], style="yellow" if r["withheld"] else ""),
        )
    out().print(table)
    withheld = sum(1 for r in rows if r["withheld"])
    if withheld:
        out().print(
            f"{withheld} notifications withheld: US Citizen Support (U5); read them --as a "
            "restricted-queue member or a contact of the account",
            markup=False,
        )


@app.command()
def referrals(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option(help="Only this account's referrals.")] = None,
    output: OutputOption = Output.text,
) -> None:
    """P2: PAR customers who came to us directly and were referred to their partner."""
    store = _existing_store(ctx)
    try:
        rows = store.intake.referrals(account.strip() if account else None)
    finally:
        store.dispose()
    if output is Output.json:
        print_json(rows)
        return
    if not rows:
        out().print("no referrals" + (f" for {account}" if account else ""), markup=False)
        return
    table = Table()
    for column in ("time", "referral", "account", "contact", "partner", "via", "request"):
        table.add_column(column, no_wrap=True)
    for r in rows:
        table.add_row(
            when(r["at"]),
            r["referral_id"],
            Text(r["account"]),
            Text(r["contact"]),
            Text(r["partner"]),
            r["channel"],
            Text(r["request_id"]),
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
        store.directory.replace(directory)
    finally:
        store.dispose()
    out().print(
        f"loaded {file} into {settings.db_url}: {_directory_summary(directory)}", markup=False
    )


@directory_app.command("accounts")
def directory_accounts(ctx: typer.Context) -> None:
    """The accounts in the loaded directory, with their tier and contacts."""
    store = _existing_store(ctx)
    try:
        found = store.directory.accounts()
        engineers = store.directory.engineers()
        products = store.directory.product_names()
    finally:
        store.dispose()
    table = Table(title="accounts", title_justify="left")
    for column in ("account", "name", "tier", "users", "contacts"):
        table.add_column(column)
    for a in found:
        table.add_row(a.id, a.name, a.tier.value, str(a.users), ", ".join(c.id for c in a.contacts))
    out().print(table)
    people = Table(title="engineers", title_justify="left")
    for column in ("engineer", "name", "level", "skills"):
        people.add_column(column)
    for e in engineers:
        people.add_row(e.id, e.name, e.level.value, ", ".join(e.skills))
    out().print(people)
    out().print(f"products: {', '.join(products)}", markup=False)


@directory_app.command("engineers")
def directory_engineers(ctx: typer.Context, output: OutputOption = Output.text) -> None:
    """The engineers in the loaded directory: level, skills, location, and whether they are
    members of the US citizen restricted queue, or why not (U2, U7)."""
    store = _existing_store(ctx)
    try:
        engineers = store.directory.engineers()
        locations = store.directory.authorised_locations()
    finally:
        store.dispose()
    rows = [
        {
            "id": e.id,
            "name": e.name,
            "level": e.level.value,
            "skills": e.skills,
            "work_location": e.work_location,
            "citizenship": e.citizenship.model_dump(mode="json") if e.citizenship else None,
            "restricted_queue_only": e.restricted_queue_only,
            "restricted_member": restricted_member_refusal(e, locations) is None,
            "not_a_member_because": restricted_member_refusal(e, locations),
        }
        for e in engineers
    ]
    if output is Output.json:
        print_json({"authorised_locations": locations, "engineers": rows})
        return
    table = Table(title="engineers", title_justify="left")
    for column in ("engineer", "name", "level", "skills", "location", "US citizen queue"):
        table.add_column(column, no_wrap=column in ("engineer", "level"))
    for e, row in zip(engineers, rows, strict=True):
        if row["restricted_member"]:
            assert e.citizenship is not None
            proof = e.citizenship.proof.replace("_", " ")
            only = ", restricted queue only" if e.restricted_queue_only else ""
            member = Text(
                f"member: {proof}, verified by {e.citizenship.verified_by} on "
                f"{e.citizenship.verified_on}{only}",
                style="green",
            )
        else:
            member = Text(f"no: {row['not_a_member_because']}", style="dim")
        table.add_row(
            e.id, e.name, e.level.value, ", ".join(e.skills), e.work_location or "-", member
        )
    out().print(table)
    out().print(
        f"authorised locations (U7): {', '.join(locations) or 'none'}",
        markup=False,
    )


# --- accounts (U1) -------------------------------------------------------------------------

AccountArgument = Annotated[str, typer.Argument(help="Account id, e.g. cyberdyne.")]


def _account_lines(account: Account) -> list[tuple[str, str]]:
    usc = "no"
    if account.us_citizen_support:
        usc = f"yes: business hours in {account.zone} (U4), restricted queue (U2)"
    approvers = [c.id for c in account.contacts if c.approver]
    return [
        ("account", f"{account.name} ({account.id})"),
        ("tier", f"{account.tier.value}, {account.users} users"),
        ("US Citizen Support", usc),
        ("zone", account.zone or "-"),
        (
            "premium (A3)",
            f"{account.premium.offering_name}, expert {account.premium.expert}"
            if account.premium
            else "no",
        ),
        (
            "contacts",
            ", ".join(f"{c.id}{' (approver)' if c.approver else ''}" for c in account.contacts),
        ),
        ("log approvers (U6)", ", ".join(approvers) or "none"),
    ]


def _print_account(account: Account, output: Output) -> None:
    if output is Output.json:
        print_json(account)
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    for label, value in _account_lines(account):
        grid.add_row(label, Text(value))
    out().print(grid)


@account_app.command("show")
def account_show(
    ctx: typer.Context, account: AccountArgument, output: OutputOption = Output.text
) -> None:
    """An account: tier, users, US Citizen Support and its zone, contacts and approvers."""
    store = _existing_store(ctx)
    try:
        found = store.directory.account(account.strip())
    finally:
        store.dispose()
    if found is None:
        fail(f"unknown account {account!r}: `casework directory accounts` lists them", BAD_INPUT)
    _print_account(found, output)


@account_app.command("us-citizen")
def account_us_citizen(
    ctx: typer.Context,
    account: AccountArgument,
    on: Annotated[
        bool,
        typer.Option(
            "--on/--off", help="Flag the account as having US Citizen Support, or unflag it."
        ),
    ],
    zone: Annotated[
        str | None,
        typer.Option(
            help="The customer's zone for business hours (U4): eastern, pacific or an IANA name."
        ),
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """U1: flag an account as having bought US Citizen Support (Platinum only, A3), or unflag it.

    New cases of a flagged account go to the restricted queue in the account's business hours;
    open cases keep the entitlement they were opened with. A refusal changes nothing (exit 2).
    The change is in the database: `casework directory load` (or `casework up --directory`)
    replaces it with what the file says."""
    from pydantic import ValidationError as Invalid

    store = _existing_store(ctx)
    try:
        try:
            updated = store.directory.set_us_citizen_support(account.strip(), on, zone)
        except Invalid as e:
            reasons = "; ".join(err["msg"].removeprefix("Value error, ") for err in e.errors())
            fail(f"account {account} not changed: {reasons}", BAD_INPUT)
        except ValueError as e:
            fail(f"account not changed: {e}: `casework directory accounts` lists them", BAD_INPUT)
        members = store.directory.restricted_members() if on else []
    finally:
        store.dispose()
    if output is Output.json:
        print_json(updated)
        return
    if on:
        out().print(
            f"{updated.id}: US Citizen Support on, business hours in {updated.zone}; new cases "
            "go to the restricted queue (U2); open cases keep the entitlement they were "
            "opened with",
            markup=False,
        )
        if not any(c.approver for c in updated.contacts):
            out().print(
                f"note: no contact of {updated.id} is a log approver, so no request to share "
                "logs with engineering can be answered (U6): set `approver: true` on a contact "
                "in the directory file and load it",
                markup=False,
            )
        if not members:
            out().print(
                "note: the restricted queue has no members (U2, U7): its cases wait in the "
                "queue; see `casework directory engineers`",
                markup=False,
            )
    else:
        out().print(
            f"{updated.id}: US Citizen Support off; new cases go to the Global Support Center "
            "queues, 24x7; open cases keep the entitlement they were opened with",
            markup=False,
        )
    _print_account(updated, Output.text)


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


# --- casework report (S1-S3, E3) -------------------------------------------------------------


def report_instant(value: str, option: str, *, end_of_day: bool = False) -> datetime:
    """A report bound: an ISO date (`2026-11-01`) or date and time (`2026-11-01T09:00`, UTC
    unless it names an offset). A date given to --to means the end of that day."""
    text_value = value.strip()
    try:
        parsed = datetime.fromisoformat(text_value)
    except ValueError:
        fail(
            f"{option} {value!r} is not a date or time; write it like 2026-11-01 or "
            "2026-11-01T09:00 (UTC unless it names an offset, e.g. 2026-11-01T09:00-05:00)",
            BAD_INPUT,
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if end_of_day and len(text_value) == len("2026-11-01"):
        parsed += timedelta(days=1)
    return parsed.astimezone(UTC)


class ReportOutput(StrEnum):
    table = "table"
    json = "json"


@app.command("report")
def report_command(
    ctx: typer.Context,
    start: Annotated[
        str,
        typer.Option(
            "--from", help="First day (or time) of the range, e.g. 2026-11-01; UTC by default."
        ),
    ],
    end: Annotated[
        str | None,
        typer.Option(
            "--to", help="Last day of the range, included (or an exact end time); default: now."
        ),
    ] = None,
    output: Annotated[ReportOutput, typer.Option(help="table or json.")] = ReportOutput.table,
    chart: Annotated[
        Path | None, typer.Option(help="Also draw the report into this PNG file.")
    ] = None,
) -> None:
    """Cases opened in a time range, by tier and priority: responded within target, breached,
    still awaiting a first response (S1-S3); and the escalations raised in it with their
    acknowledgement times (E3)."""
    from casework.domain.report import CaseFactRow, EscalationRow, build_report, wait_text

    since = report_instant(start, "--from")
    until = report_instant(end, "--to", end_of_day=True) if end else datetime.now(UTC)
    if until <= since:
        fail(f"--to ({when(until)}) must be after --from ({when(since)})", BAD_INPUT)
    if chart is not None and chart.suffix.lower() != ".png":
        fail(f"--chart {chart}: the chart is a PNG image; name the file like report.png", BAD_INPUT)
    store = _existing_store(ctx)
    try:
        cases = [CaseFactRow.model_validate(r) for r in store.reporting.cases_opened(since, until)]
        raised = [EscalationRow.model_validate(r) for r in store.escalations.raised(since, until)]
    finally:
        store.dispose()
    report = build_report(since, until, cases, raised)
    if chart is not None:
        from casework.report_chart import ChartUnavailable, draw_report

        try:
            draw_report(report, chart)
        except ChartUnavailable as e:
            fail(str(e), REFUSED)
        except OSError as e:
            fail(f"cannot write the chart to {chart}: {e.strerror or e}", REFUSED)
    if output is ReportOutput.json:
        print_json(report)
        return
    table = Table(
        title=f"cases opened {when(since)} to {when(until)} (S1-S3)", title_justify="left"
    )
    for column in ("tier", "priority", "opened", "within target", "breached", "awaiting", "%"):
        table.add_column(column, no_wrap=True)
    for line in [*report.lines, report.total]:
        percent = line.within_target_percent
        table.add_row(
            line.tier.value if line.tier else "all",
            line.priority.value if line.priority else "all",
            str(line.opened),
            str(line.responded_within_target),
            Text(str(line.breached), style="bold red" if line.breached else ""),
            str(line.awaiting_response),
            "-" if percent is None else f"{percent:g}%",
        )
    out().print(table)
    summary = report.escalation_summary
    escalations = Table(
        title=f"escalations raised: {summary.raised}, acknowledged: {summary.acknowledged}, "
        f"median time to acknowledge: {wait_text(summary.median_seconds_to_acknowledge)} (E3)",
        title_justify="left",
    )
    for column in ("escalation", "case", "tier", "priority", "channel", "raised", "acknowledged"):
        escalations.add_column(column, no_wrap=True)
    for row in report.escalations:
        ack = wait_text(row.seconds_to_acknowledge)
        if row.acknowledged_by:
            ack += f" by {row.acknowledged_by}"
        escalations.add_row(
            row.escalation_id,
            row.case_id,
            row.tier,
            row.priority,
            row.channel,
            when(row.raised_at),
            Text(ack, style="" if row.acknowledged_at else "bold red"),
        )
    out().print(escalations)
    if chart is not None:
        out().print(f"chart: {chart}", markup=False)


# --- premium coverage (A3) -------------------------------------------------------------------


@app.command("accept")
def accept_command(case: CaseArgument, actor: ActorOption) -> None:
    """The account's premium expert (CSM-Lite, CSM, Resident Engineer) takes a new case offered
    to them, within the policy's `premium_accept_within` (A3)."""
    if not actor.strip():
        fail("--as must name the expert's engineer id", BAD_INPUT)
    send(case_number(case), "accept", {"actor": actor.strip()})
