"""Opening and reading cases through the door (`casework.door`): `casework open`, `show`,
`list`, and who the credential is, `casework whoami` and `casework profiles`."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Any

import typer

from casework.cli.common import (
    BAD_INPUT,
    CaseArgument,
    Output,
    OutputOption,
    case_number,
    explain,
    fail,
    globals_of,
    out,
    print_json,
)

if TYPE_CHECKING:
    from casework.domain.models import CaseView, FeedEntry

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
    "subject": "--subject",
    "partner_id": "--partner",
}


SubjectOption = Annotated[
    str | None,
    typer.Option(
        help="A short title the case list shows, one line of 1-120 characters. Default: the "
        "description's first line."
    ),
]
SearchOption = Annotated[
    str | None,
    typer.Option(
        help="Words to find in a case's number, subject or description (U5: a restricted "
        "case's text for its queue's members and its account's contacts only)."
    ),
]
SortOption = Annotated[
    str | None,
    typer.Option(help="Sort by number, subject, priority, state, due, opened or updated."),
]

FILLED_BY_THE_DOOR = "-"
"""Stands in, while the request is checked here, for what the door fills in from the
credential when it is left out: a contact's account and themselves (web), a Customer Care
agent's phone call, a partner engineer's partner (P3)."""


@commands.command("open")
def open_command(
    product: Annotated[str, typer.Option(help="Product, e.g. FortiGate.")],
    version: Annotated[str, typer.Option(help="Product version, e.g. 7.4.3.")],
    priority: Annotated[str, typer.Option(help="P1, P2 or P3 (S1).")],
    description: Annotated[str, typer.Option(help="What happened.")],
    subject: SubjectOption = None,
    channel: Annotated[
        str | None,
        typer.Option(
            help="web, phone (A2) or partner (P3). Default: yours: a contact's web, Customer "
            "Care's phone, a partner engineer's partner."
        ),
    ] = None,
    account: Annotated[
        str | None, typer.Option(help="Account id, e.g. acme. Default: a contact's own.")
    ] = None,
    contact: Annotated[
        str | None,
        typer.Option(help="Contact id on that account, e.g. acme-alice. Default: you, a contact."),
    ] = None,
    category: Annotated[
        str, typer.Option(help="support or security_vulnerability (A5).")
    ] = "support",
    request_id: Annotated[
        str | None,
        typer.Option(
            help="Idempotency key: the same id again returns the same case. It is yours (a "
            "contact's is their account's): another account's same id is another case. "
            "Default: new."
        ),
    ] = None,
    partner: Annotated[
        str | None,
        typer.Option(help="A partner case's partner (P3). Default: a partner engineer's own."),
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """Open a case as yourself; prints its number. A contact opens for their account on the
    web, Customer Care opens a caller's phone case, a partner's engineer opens a partner case
    (P3). Retrying with the same --request-id is safe."""
    from pydantic import ValidationError

    from casework.cli import render
    from casework.cli.door_client import call
    from casework.domain.models import OpenCaseRequest, OpenCaseResult

    chosen = channel.strip().lower() if channel else None
    fields = {
        "request_id": request_id or uuid.uuid4().hex,
        "channel": chosen,
        "account_id": account,
        "contact_id": contact,
        "product": product,
        "version": version,
        "priority": priority,
        "category": category.strip().lower(),
        "description": description,
        "subject": subject,
        "partner_id": partner,
    }
    sent = {k: v for k, v in fields.items() if v is not None}
    placeholders = {
        "channel": "partner" if partner else "web",
        "account_id": FILLED_BY_THE_DOOR,
        "contact_id": FILLED_BY_THE_DOOR,
        "partner_id": FILLED_BY_THE_DOOR if chosen == "partner" else None,
    }
    try:
        OpenCaseRequest.model_validate({**placeholders, **sent})
    except ValidationError as e:
        fail(f"case not opened: {explain(e, OPEN_OPTIONS)}", BAD_INPUT)

    # The door answers 503 when the case does not open in time; the request is kept, so the
    # same --request-id again gets its case number (the door's message says so).
    result = OpenCaseResult.model_validate(call("POST", "/v1/cases", json=sent))
    if output is Output.json:  # a case: case_id and created; a referral (P2): no case_id
        typer.echo(result.model_dump_json(indent=2, exclude_none=True))
        return
    out().print(render.opened(result, sent["request_id"]), markup=False)


@commands.command()
def show(
    case: CaseArgument,
    page: Annotated[
        int,
        typer.Option(help="Feed page, newest first: 1 is the newest entries, 2 the ones before."),
    ] = 1,
    page_size: Annotated[int, typer.Option(help="Feed entries per page (1-500).")] = 50,
    output: OutputOption = Output.text,
) -> None:
    """Show a case as you may see it: where it stands, its SLA clock, what can be done, and its
    feed (E4). On a US Citizen Support case only the restricted queue's members and the
    account's contacts see content; a refused read is on the case's feed (U5).

    The case carries the newest entries of its feed; older pages come from the database."""
    from datetime import UTC, datetime

    from casework.cli.door_client import call
    from casework.cli.render_case import case_view, feed_footer
    from casework.domain.feed_pages import feed_window
    from casework.domain.models import CaseView

    case_id = case_number(case)
    try:
        feed_window(0, page, page_size)
    except ValueError as e:
        fail(f"case not shown: --page and --page-size: {e}", BAD_INPUT)

    view = CaseView.model_validate(call("GET", f"/v1/cases/{case_id}"))
    window = feed_window(view.feed_total, page, page_size)
    view = view.model_copy(update={"feed": _feed_page(view, page, page_size, *window)})
    if output is Output.json:
        print_json(view)
        return
    viewer = _who_am_i()["id"] if view.content_withheld else ""
    # the clock as the door read it, when it answered (S2): the JSON and this text agree
    out().print(case_view(view, str(viewer), now=view.sla_read_at or datetime.now(UTC)))
    footer = feed_footer(view, page, page_size)
    if footer:
        out().print(footer, markup=False)


def _feed_page(
    view: CaseView, page: int, page_size: int, offset: int, limit: int
) -> list[FeedEntry]:
    """The feed entries [offset, offset + limit): from the case's own tail when it holds them,
    else the page from the door (from the engine's database, withheld as the case withholds
    them, U5)."""
    from casework.cli.door_client import call
    from casework.domain.models import FeedEntry

    first = view.feed_total - len(view.feed)
    if offset >= first:
        return [e for e in view.feed if e.seq is not None and offset <= e.seq < offset + limit]
    answer = call(
        "GET",
        f"/v1/cases/{view.case_id}/feed",
        params={"page": page, "page_size": page_size},
    )
    rows: list[Any] = answer
    if isinstance(answer, dict):  # a FeedPage, its entries newest first
        rows = answer.get("entries") or answer.get("feed") or []
    entries = [FeedEntry.model_validate(r) for r in rows]
    return sorted(entries, key=lambda e: -1 if e.seq is None else e.seq)  # as they happened


@commands.command("list")
def list_command(
    state: Annotated[
        str | None,
        typer.Option(
            help="queued, in_progress, waiting_on_customer, waiting_on_vendor, resolved or "
            "closed; or how a case ended from outside: terminated, timed_out, failed, canceled."
        ),
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
    search: SearchOption = None,
    sort: SortOption = None,
    order: Annotated[str | None, typer.Option(help="asc or desc (default desc).")] = None,
    output: OutputOption = Output.text,
    security: Annotated[
        bool, typer.Option("--security", help="Only security vulnerability issues (A5).")
    ] = False,
) -> None:
    """List cases, each once, as it is now, newest first (or --sort): the case list's rows,
    which each case keeps (issue 26); --state terminated (timed_out, failed, canceled) lists
    from the search attributes (the same query works in the Web UI), and a case that no longer
    runs says how it ended.

    A row carries no content of a case but its subject (no description, notes or contacts);
    U5: a restricted case's subject is withheld from anybody outside its queue and account,
    and the case is marked as such."""
    from casework.case_list import CaseFilters, CaseSummary
    from casework.cli import render
    from casework.cli.door_client import call
    from casework.errors import CaseworkError

    filters = CaseFilters(
        state=state,
        priority=priority,
        tier=tier,
        breached=breached,
        account=account,
        restricted=restricted,
        security=security,
    )
    try:
        query = filters.query()
    except CaseworkError as e:
        fail(str(e), BAD_INPUT)

    asked = {"limit": limit, "q": search, "sort": sort, "order": order}
    answer = call("GET", "/v1/cases", params={**filters.params(), **asked})
    cases = [CaseSummary.model_validate(row) for row in answer]
    if output is Output.json:
        print_json([c.model_dump(mode="json") for c in cases])
        return
    if not cases:
        out().print(f"no cases match: {query}", markup=False)
        return
    out().print(render.case_list(cases))


def _who_am_i() -> dict[str, object]:
    from casework.cli.door_client import call

    answer = call("GET", "/v1/whoami")
    return answer if isinstance(answer, dict) else {"id": str(answer)}


IDENTITY_FIELDS = {
    "id": "id",
    "kind": "kind",
    "name": "name",
    "account": "account",
    "partner": "partner",
    "level": "level",
    "approver": "log approver (U6)",
    "customer_care": "Customer Care (may act --for a caller)",
    "restricted_member": "restricted member (U2)",
    "via": "via",
}
"""What `whoami` prints of the door's Identity, in this order; a false flag only when it is
the restricted queue's (the question a US Citizen Support user asks)."""


@commands.command()
def whoami(ctx: typer.Context, output: OutputOption = Output.text) -> None:
    """Who the casework API says you are, and which credential and address said so."""
    from casework.cli.door_client import DoorProblem, credential_of, request

    credential = credential_of(ctx)
    try:
        identity = request(credential, "GET", "/v1/whoami")
    except DoorProblem as e:
        fail(str(e), e.code)
    if not isinstance(identity, dict):
        identity = {"id": identity}
    used = {"profile": credential.profile, "credential": credential.source, "url": credential.url}
    if output is Output.json:
        print_json({**identity, **used})
        return
    lines = []
    for field, label in IDENTITY_FIELDS.items():
        value = identity.get(field)
        if value is None or value == "" or (value is False and field != "restricted_member"):
            continue
        lines.append(f"{label}: {('yes' if value else 'no') if isinstance(value, bool) else value}")
    lines += [f"credential: {credential.source}", f"url: {credential.url}"]
    out().print("\n".join(lines), markup=False)


@commands.command()
def profiles(ctx: typer.Context, output: OutputOption = Output.text) -> None:
    """The profiles you can use with --profile / CASEWORK_PROFILE, from
    ~/.config/casework/profiles.toml and <state-dir>/profiles.toml; * marks the default."""
    from casework.cli.door_client import DoorProblem, all_profiles, profiles_paths

    state_dir = globals_of(ctx).state_dir
    try:
        files = all_profiles(state_dir)
    except DoorProblem as e:
        fail(str(e), e.code)
    default = next((f.default for f in files if f.default), None)
    seen: set[str] = set()
    rows = []
    for found in files:
        for name, profile in found.profiles.items():
            rows.append(
                {
                    "name": name,
                    "default": name == default and name not in seen,
                    "url": profile.url,
                    "file": str(found.path),
                    "shadowed": name in seen,  # a profile of the same name in a file before
                }
            )
            seen.add(name)
    if output is Output.json:
        print_json(rows)
        return
    if not rows:
        where = " or ".join(str(p) for p in profiles_paths(state_dir))
        out().print(
            f"no profiles in {where}: `casework up` writes one per demo person; for your own, "
            "an operator makes a key with `casework keys create <your id>`",
            markup=False,
        )
        return
    for row in rows:
        mark = "*" if row["default"] else " "
        note = " (shadowed by the one above)" if row["shadowed"] else ""
        url = row["url"] or "(CASEWORK_URL or the local door)"
        out().print(f"{mark} {row['name']}  {url}  {row['file']}{note}", markup=False)
