"""Opening and reading cases: `casework open`, `show` and `list`."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import typer

from casework.cli.common import (
    BAD_INPUT,
    CaseArgument,
    Output,
    OutputOption,
    answered,
    case_number,
    connect,
    existing_store,
    explain,
    fail,
    out,
    print_json,
    run,
)

if TYPE_CHECKING:
    from casework.client import CaseSummary
    from casework.domain.models import CaseView, FeedEntry, OpenCaseResult

commands = typer.Typer()

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


@commands.command("open")
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
    from pydantic import ValidationError

    from casework.cli import render
    from casework.client import open_case
    from casework.domain.models import OpenCaseRequest
    from casework.settings import Settings

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
    out().print(render.opened(result, request.request_id), markup=False)


@commands.command()
def show(
    ctx: typer.Context,
    case: CaseArgument,
    viewer: Annotated[
        str,
        typer.Option(
            "--as",
            help="Who is looking (U5): on a US Citizen Support case only the restricted "
            "queue's members and the account's contacts see content; operator sees none.",
        ),
    ] = "operator",
    page: Annotated[
        int,
        typer.Option(help="Feed page, newest first: 1 is the newest entries, 2 the ones before."),
    ] = 1,
    page_size: Annotated[int, typer.Option(help="Feed entries per page (1-500).")] = 50,
    output: OutputOption = Output.text,
) -> None:
    """Show a case: where it stands, its SLA clock, what can be done, and its feed (E4).

    A running US Citizen Support case is read with its audited `read` update, so a refused
    read is on the case's feed (U5); any other case, and a closed one, with the `view` query.
    The case carries the newest entries of its feed; older pages come from the database."""
    from datetime import UTC, datetime

    from pydantic import ValidationError

    from casework.cli.render_case import case_view, feed_footer
    from casework.client import read_case
    from casework.domain.actions import ViewRequest
    from casework.domain.presentation import feed_window

    case_id = case_number(case)
    try:
        ViewRequest(viewer=viewer)
        window = feed_window(0, page, page_size)
    except ValidationError as e:
        fail(f"case not shown: {explain(e, {'viewer': '--as'})}", BAD_INPUT)
    except ValueError as e:
        fail(f"case not shown: --page and --page-size: {e}", BAD_INPUT)

    async def work() -> CaseView:
        client = await connect()
        return await answered(read_case(client, case_id, viewer), f"the view of {case_id}")

    view = run(work())
    window = feed_window(view.feed_total, page, page_size)
    view = view.model_copy(update={"feed": _feed_page(ctx, view, *window)})
    if output is Output.json:
        print_json(view)
        return
    out().print(case_view(view, viewer, now=datetime.now(UTC)))
    footer = feed_footer(view, page, page_size)
    if footer:
        out().print(footer, markup=False)


def _feed_page(ctx: typer.Context, view: CaseView, offset: int, limit: int) -> list[FeedEntry]:
    """The feed entries [offset, offset + limit): from the case's own tail when it holds them,
    else from the engine's database, withheld as the case withholds them (U5)."""
    from casework.domain.models import FeedEntry
    from casework.domain.us_citizen import withhold_feed

    first = view.feed_total - len(view.feed)
    if offset >= first:
        return [e for e in view.feed if e.seq is not None and offset <= e.seq < offset + limit]
    store = existing_store(ctx)
    try:
        rows = store.feed.page(view.case_id, offset=offset, limit=limit)
        account = store.directory.account(view.account_id) if view.content_withheld else None
    finally:
        store.dispose()
    entries = [FeedEntry.model_validate(r) for r in rows]
    if view.content_withheld:
        contacts = {c.id for c in account.contacts} if account else set()
        entries = withhold_feed(entries, contacts)
    return entries


@commands.command("list")
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
    from casework.cli import render
    from casework.client import CaseworkError, case_list_query, list_cases

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
    out().print(render.case_list(cases))
