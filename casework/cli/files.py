"""Files on a case, and the customer's approval before logs go to engineering (U5, U6):
`attach`, `request-log-approval`, `approve-logs`, `decline-logs`."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from casework.cli.actions import act, checked, send
from casework.cli.common import (
    BAD_INPUT,
    ActorOption,
    CaseArgument,
    case_number,
    existing_store,
    fail,
    globals_of,
    out,
)

commands = typer.Typer()


class AttachmentKind(StrEnum):
    log = "log"
    configuration = "configuration"
    other = "other"


@commands.command()
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
    from casework.attachments import AttachmentRefused, AttachmentStore
    from casework.cli.render import file_size

    case_id = case_number(case)
    try:
        AttachmentStore.check(file)
    except AttachmentRefused as e:
        fail(f"attach not sent: {e}", BAD_INPUT)
    fields = {"actor": actor, "name": name or file.name, "kind": kind.value}
    checked("attach", **fields, sha256="0" * 64, size=0)
    database = existing_store(ctx)
    try:  # U5: a restricted case's file (or one of a case not on record) is encrypted at rest
        realm = database.realms.lookup(case_id)
        ring = database.ring
    finally:
        database.dispose()
    store = AttachmentStore.for_settings(globals_of(ctx).settings(), ring)
    try:
        stored = store.put(file, restricted=realm is None or realm.restricted)
    except AttachmentRefused as e:
        fail(f"attach not sent: {e}", BAD_INPUT)
    result = send(
        case_id, "attach", checked("attach", **fields, sha256=stored.sha256, size=stored.size)
    )
    found = re.search(r"att-\d+", result.message)
    out().print(
        f"{found.group() if found else 'attached'}: {fields['name']} ({kind.value}, "
        f"{file_size(stored.size)}, sha256 {stored.sha256}) in {stored.path}",
        markup=False,
    )


@commands.command("request-log-approval")
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


@commands.command("approve-logs")
def approve_logs(case: CaseArgument, actor: ActorOption, request: RequestOption = None) -> None:
    """U6: an authorised contact (approver) lets exactly the named logs go to engineering,
    with this case's next PR only."""
    act(case, "approve_logs", actor=actor, request_id=request)


@commands.command("decline-logs")
def decline_logs(
    case: CaseArgument,
    actor: ActorOption,
    request: RequestOption = None,
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """U6: an authorised contact declines; the case goes on without sharing logs (resolution
    may take significantly longer)."""
    act(case, "decline_logs", actor=actor, request_id=request, reason=reason)
