"""Files on a case, and the customer's approval before logs go to engineering (U5, U6):
`attach`, `request-log-approval`, `approve-logs`, `decline-logs`."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from casework.cli.actions import act, checked
from casework.cli.common import (
    BAD_INPUT,
    CaseArgument,
    ForOption,
    case_number,
    fail,
    out,
)

commands = typer.Typer()


class AttachmentKind(StrEnum):
    log = "log"
    configuration = "configuration"
    other = "other"


@commands.command()
def attach(
    case: CaseArgument,
    file: Annotated[Path, typer.Argument(help="The file to attach (a log, a configuration).")],
    kind: Annotated[
        AttachmentKind, typer.Option(help="log, configuration or other.")
    ] = AttachmentKind.log,
    name: Annotated[
        str | None, typer.Option(help="Its name on the case. Default: the file's name.")
    ] = None,
) -> None:
    """Attach a file: a contact of the account or the owning engineer (E5).

    The file is uploaded to the casework API, which keeps it in the attachment store; the case
    records only a reference (name, kind, SHA-256, size), never the bytes (U5). Prints its id
    on the case, att-N, for `request-log-approval --log`."""
    from casework.attachments import AttachmentRefused, AttachmentStore
    from casework.cli import render
    from casework.cli.door_client import act as post_action
    from casework.domain.actions import ActionResult

    case_id = case_number(case)
    try:
        AttachmentStore.check(file)
    except AttachmentRefused as e:
        fail(f"attach not sent: {e}", BAD_INPUT)
    shown_as = name or file.name
    checked("attach", name=shown_as, kind=kind.value, sha256="0" * 64, size=0)
    digest, size = _sha256_and_size(file)
    with file.open("rb") as content:
        answer = post_action(
            f"/v1/cases/{case_id}/attachments",
            files={"file": (shown_as, content, "application/octet-stream")},
            data={"kind": kind.value},
        )
    result = ActionResult.model_validate(answer)
    out().print(render.acted(result), markup=False)
    found = re.search(r"att-\d+", result.message)
    out().print(
        f"{found.group() if found else 'attached'}: {shown_as} ({kind.value}, "
        f"{render.file_size(size)}, sha256 {digest})",
        markup=False,
    )


def _sha256_and_size(file: Path) -> tuple[str, int]:
    """What the case will record of the file, to show it; the door computes its own."""
    import hashlib

    digest = hashlib.sha256()
    size = 0
    with file.open("rb") as content:
        while chunk := content.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@commands.command("request-log-approval")
def request_log_approval(
    case: CaseArgument,
    log: Annotated[
        list[str], typer.Option(help="A log attachment to share, e.g. att-1 (repeat for more).")
    ],
    note: Annotated[str | None, typer.Option(help="Why engineering needs them.")] = None,
) -> None:
    """U6: the owning engineer at L3 asks the customer before any log goes to product
    engineering with a Problem Report. An authorised contact approves or declines; the
    customer is reminded and the request expires, in business days (policy)."""
    act(case, "request_log_approval", logs=[i.strip() for i in log], note=note)


RequestOption = Annotated[
    str | None,
    typer.Option(
        "--request", help="The request id, e.g. case-000001-logs-1. Default: the pending one."
    ),
]


@commands.command("approve-logs")
def approve_logs(
    case: CaseArgument, request: RequestOption = None, on_behalf_of: ForOption = None
) -> None:
    """U6: an authorised contact (approver) lets exactly the named logs go to engineering,
    with this case's next PR only. Customer Care records a caller's approval with --for."""
    act(case, "approve_logs", on_behalf_of, request_id=request)


@commands.command("decline-logs")
def decline_logs(
    case: CaseArgument,
    request: RequestOption = None,
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
    on_behalf_of: ForOption = None,
) -> None:
    """U6: an authorised contact declines; the case goes on without sharing logs (resolution
    may take significantly longer). Customer Care records a caller's answer with --for."""
    act(case, "decline_logs", on_behalf_of, request_id=request, reason=reason)
