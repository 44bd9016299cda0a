"""A case's files: upload one (`POST /v1/cases/{case}/attachments`, the catalogue's `upload`
action) and download one (`GET /v1/cases/{case}/attachments/{attachment}`). U5: the case
records a reference only; an outsider of a restricted case gets no file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse

from casework.domain.actions import ActionResult
from casework.door import center
from casework.door.routes.common import IdempotencyKey, Person, TheDoor

router = APIRouter()


@router.post("/v1/cases/{case}/attachments")
async def attach(
    person: Person,
    door: TheDoor,
    case: str,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form()] = "log",
    name: Annotated[str | None, Form()] = None,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    """The file goes to the attachment store; the case records only its reference (U5),
    once per Idempotency-Key."""
    case_id = center.case_number(case)
    return await center.attach_for(door, person, case_id, file, kind, name, idempotency_key)


@router.get(
    "/v1/cases/{case}/attachments/{attachment}",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download(person: Person, door: TheDoor, case: str, attachment: str) -> FileResponse:
    """A file of the case (`att-N`), streamed from the attachment store; U5: withheld from
    outsiders of a restricted case, and every read is audited."""
    got = await center.download_for(door, person, center.case_number(case), attachment)
    return center.file_response(got)
