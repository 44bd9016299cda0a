"""What the door takes in, bounded: request bodies (a JSON request or an upload larger than
its bound is refused with 413 and never read whole) and the upload into the attachment store."""

from __future__ import annotations

import asyncio
import os
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casework.attachments import AttachmentRefused
from casework.door.errors import DoorError, problem_response
from casework.door.problem_page import is_page_path, problem_page
from casework.door.service import Door

MAX_BODY_BYTES = 1 << 20
"""A JSON request's bound: the longest text field is 20,000 characters."""
UPLOAD_CHUNK = 1 << 20


class BodyTooLarge(Exception):
    pass


class BoundedBodies:
    """ASGI middleware: a request body larger than its bound is refused with 413 and never read
    whole (uploads: `max_upload_bytes`; anything else: MAX_BODY_BYTES)."""

    def __init__(self, app: ASGIApp, max_upload_bytes: int) -> None:
        self.app = app
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"].endswith("/attachments")
        limit = self.max_upload_bytes if upload else MAX_BODY_BYTES
        message = (
            f"the file is larger than {limit:,} bytes, this door's bound for an attachment; "
            "attach a smaller part (compress it, or split a log)"
            if upload
            else f"the request body is larger than {limit:,} bytes; send less"
        )
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await too_large(scope, message)(scope, receive, send)
            return
        received = 0
        started = exceeded = False

        async def counted() -> Message:
            nonlocal received, exceeded
            item = await receive()
            if item["type"] == "http.request":
                received += len(item.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge()
            return item

        async def watched(item: Message) -> None:
            """A handler that caught BodyTooLarge (the form parser turns it into its own 400)
            answers 413 all the same."""
            nonlocal started
            if exceeded:
                if item["type"] == "http.response.start" and not started:
                    started = True
                    await too_large(scope, message)(scope, receive, send)
                return
            if item["type"] == "http.response.start":
                started = True
            await send(item)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await too_large(scope, message)(scope, receive, send)


def too_large(scope: Scope, message: str) -> Any:
    """413: a page for the page's paths (issue 26), a problem for the API's."""
    if is_page_path(scope.get("path", "")):
        return problem_page(413, message)
    return problem_response(413, message)


async def store_upload(door: Door, upload: UploadFile, *, restricted: bool) -> Any:
    """Copy the upload, bounded, into the attachment store (through a private temporary file
    beside it, removed after). U5: a restricted case's file (or one of a case the engine does
    not know) is encrypted at rest."""
    root = door.attachments.root
    root.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".upload-", dir=root)
    size = 0
    try:
        with os.fdopen(handle, "wb") as writer:
            while chunk := await upload.read(UPLOAD_CHUNK):
                size += len(chunk)
                if size > door.max_upload_bytes:
                    raise DoorError(
                        413,
                        f"the file is larger than {door.max_upload_bytes:,} bytes, this door's "
                        "bound for an attachment; attach a smaller part",
                    )
                await asyncio.to_thread(writer.write, chunk)
        return await asyncio.to_thread(
            partial(door.attachments.put, Path(temporary), restricted=restricted)
        )
    except AttachmentRefused as e:
        raise DoorError(400, f"attach not sent: {e}") from None
    finally:
        Path(temporary).unlink(missing_ok=True)
