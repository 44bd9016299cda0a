"""One case: its page (the feed, the SLA clock, what it waits for, the forms offered), its
actions and files sent from the page, and its files downloaded."""

from __future__ import annotations

import math
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.datastructures import FormData, UploadFile

from casework.door import center
from casework.door.drafts import Draft
from casework.door.errors import DoorError
from casework.door.page.base import Page, field, form_key, patiently, the_page
from casework.door.people import Identity
from casework.door.presentation import (
    DONE,
    FORMS,
    UPLOAD,
    clock_of,
    may_attach,
    offered_actions,
    waits_for,
)
from casework.door.previews import SNIFF_BYTES, inline_disposition, preview_kind, preview_type
from casework.door.session import Session

router = APIRouter(include_in_schema=False)
ThePage = Annotated[Page, Depends(the_page)]
FEED_PAGE_SIZE = 25
MAX_FILES_PER_UPLOAD = 10


def form_body(action: str, form: FormData) -> dict[str, Any]:
    """An action's JSON fields from its form: lists for checkboxes, empty optionals left out."""
    body: dict[str, Any] = {}
    for f in FORMS[action].fields if action in FORMS else ():
        if f.kind == "checkboxes":
            values = [str(v) for v in form.getlist(f.name) if str(v).strip()]
            if values:
                body[f.name] = values
            continue
        value = form.get(f.name)
        if isinstance(value, str) and value.strip():
            body[f.name] = value
        elif f.required:
            body[f.name] = ""  # the model names the field: "text: must not be empty"
    return body


@router.get("/cases/{case}")
async def case_page(
    request: Request,
    page: ThePage,
    case: str,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    done: str | None = None,
) -> Response:
    person, session = await page.visitor(request)
    draft = page.take_draft(request, person, f"/cases/{case}")
    return await _render_case(page, request, person, session, case, page_number, done, draft=draft)


@router.post("/cases/{case}/act/{action}")
async def act_from_page(request: Request, page: ThePage, case: str, action: str) -> Response:
    person, session = await page.visitor(request)
    form = await page.form(request, session)
    try:
        case_id = center.case_number(case)
        if action not in FORMS:
            raise DoorError(404, f"there is no action {action!r} on this page")
        key = form_key(form)
        body = form_body(action, form)
        await patiently(lambda: center.act_for(page.door, person, case_id, action, body, key))
    except DoorError as e:
        return await _render_case(page, request, person, session, case, error=e)
    return RedirectResponse(f"/cases/{case_id}?{urlencode({'done': action})}", 303)


@router.post("/cases/{case}/attachments")
async def attach_from_page(request: Request, page: ThePage, case: str) -> Response:
    """Several files at once (at most MAX_FILES_PER_UPLOAD; the whole request within the door's
    upload bound), each attached under its own Idempotency-Key derived from the form's, so
    sending the form again attaches none twice. A refusal names what was attached and what
    was not."""
    person, session = await page.visitor(request)
    form = await page.form(request, session, max_files=MAX_FILES_PER_UPLOAD)
    uploads = [u for u in form.getlist("file") if isinstance(u, UploadFile) and u.filename]
    attached: list[str] = []
    try:
        case_id = center.case_number(case)
        if not uploads:
            raise DoorError(422, f"{UPLOAD.name} not sent: choose one or more files", ["file"])
        kind = field(form, "kind", "log")
        key = form_key(form)
        for number, upload in enumerate(uploads):
            one = f"{key}-{number}" if key else None
            await patiently(
                lambda: center.attach_for(page.door, person, case_id, upload, kind, None, one)  # type: ignore[arg-type]  # noqa: B023
            )
            attached.append(str(upload.filename))
    except DoorError as e:
        if attached:
            e = DoorError(e.status, f"attached {', '.join(attached)}; the rest not: {e.message}")
        return await _render_case(page, request, person, session, case, error=e)
    return RedirectResponse(f"/cases/{case_id}?done={UPLOAD.name}", 303)


@router.get("/cases/{case}/files/{attachment}")
async def download_from_page(
    request: Request, page: ThePage, case: str, attachment: str
) -> Response:
    person, session = await page.visitor(request)
    try:
        got = await center.download_for(page.door, person, center.case_number(case), attachment)
    except DoorError as e:
        return page.problem(request, person, session, e)
    return center.file_response(got)


@router.get("/cases/{case}/files/{attachment}/preview")
async def preview_from_page(
    request: Request, page: ThePage, case: str, attachment: str
) -> Response:
    """The file shown in the browser (an image, a PDF, text), for whoever may download it;
    415 for a file with no preview, or whose first bytes are not what its name says."""
    person, session = await page.visitor(request)
    try:
        got = await center.download_for(page.door, person, center.case_number(case), attachment)
    except DoorError as e:
        return page.problem(request, person, session, e)
    with got.path.open("rb") as reader:
        head = reader.read(SNIFF_BYTES)
    media = preview_type(got.attachment.name, head, got.attachment.size)
    if media is None:
        if got.temporary:
            got.path.unlink(missing_ok=True)
        refusal = DoorError(
            415,
            f"{got.attachment.name} has no preview: images (PNG, JPEG, GIF, WebP), PDFs and "
            "text are shown; download it instead",
        )
        return page.problem(request, person, session, refusal)
    cleanup = BackgroundTask(got.path.unlink, missing_ok=True) if got.temporary else None
    return FileResponse(
        got.path,
        media_type=media,
        headers={"content-disposition": inline_disposition(got.attachment.name)},
        background=cleanup,
    )


async def _render_case(
    page: Page,
    request: Request,
    person: Identity,
    session: Session,
    case: str,
    page_number: int = 1,
    done: str | None = None,
    error: DoorError | None = None,
    draft: Draft | None = None,
) -> Response:
    """The case's page; with `error`, the case as it is now, saying what was refused (and
    with the error's status)."""
    door = page.door
    try:
        case_id = center.case_number(case)
        view = await center.show_for(door, person, case_id)
        feed = await center.feed_for(
            door, person, case_id, max(page_number, 1), FEED_PAGE_SIZE, view=view
        )
    except DoorError as e:
        return page.problem(request, person, session, e)
    pages = max(1, math.ceil(feed.total / FEED_PAGE_SIZE))
    return page.render(
        request,
        "case.html",
        status=error.status if error else 200,
        person=person,
        csrf=session.csrf,
        view=view,
        feed=list(reversed(feed.entries)),
        feed_withheld=feed.withheld,
        page_number=feed.page,
        pages=pages,
        clock=clock_of(view),
        waits_for=waits_for(view),
        offered=offered_actions(person, view),
        may_attach=may_attach(person, view),
        upload=UPLOAD.form,
        form_key=uuid.uuid4().hex,
        active_escalation=next((e for e in view.escalations if e.ended_at is None), None),
        pending_approval=next((a for a in view.log_approvals if a.status == "pending"), None),
        done=DONE.get(done or "", "Case opened" if done == "opened" else ""),
        error=error.message if error else "",
        draft=draft,
        previews={a.id: preview_kind(a.name) for a in view.attachments},
        upload_limits={
            "count": MAX_FILES_PER_UPLOAD,
            "total_words": f"{page.door.max_upload_bytes / (1 << 20):g} MB",
        },
    )
