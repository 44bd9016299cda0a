"""Files on a case, and the customer's approval before logs go to engineering (U5, U6):
`attach` (declared here: it uploads the file), `request-log-approval`, `approve-logs`,
`decline-logs` (declared from the catalogue)."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from casework.cli.actions import checked, declare, option_help
from casework.cli.common import BAD_INPUT, CaseArgument, case_number, fail, out
from casework.domain.catalogue import CATALOGUE

commands = typer.Typer()
UPLOAD = next(a for a in CATALOGUE if a.upload)


class AttachmentKind(StrEnum):
    log = "log"
    configuration = "configuration"
    other = "other"


@commands.command(UPLOAD.command.name, help=UPLOAD.command.help)
def attach(
    case: CaseArgument,
    file: Annotated[Path, typer.Argument(help="The file to attach (a log, a configuration).")],
    kind: Annotated[
        AttachmentKind, typer.Option(help=option_help(UPLOAD.name, "kind"))
    ] = AttachmentKind.log,
    name: Annotated[str | None, typer.Option(help=option_help(UPLOAD.name, "name"))] = None,
) -> None:
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


declare(commands, "files")
