"""The door's ASGI app (`create_app`): the HTTP API of `casework.door`, version 1.

Every request but `/healthz` is authenticated first (`Door.person` in `casework.door.service`:
an API key or an OIDC bearer token, bound to a person of the directory); then the door checks
what the credential allows (`casework.door.rules`) and calls Temporal through
`casework.client`, inside `acting(principal)` on a client that carries `PrincipalHeaders`, so
every update and query it sends holds a token signed for that person. Reads of a restricted
case's content, granted or refused, are written to the audit table (U5). Bodies are bounded
(`casework.door.bounds`); errors answer as `casework.door.errors` says. The routes, one router
per resource, are in `casework.door.routes`; the page's in `casework.door.page`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from temporalio.client import Client

from casework import door as contract
from casework.attachments import AttachmentStore
from casework.client import Clock, Opener, wall_clock
from casework.door.bounds import BoundedBodies
from casework.door.center import FeedPage
from casework.door.credentials import OidcConfig, OidcVerifier
from casework.door.headers import SecurityHeaders
from casework.door.routes import API_ROUTERS
from casework.door.routes.codec import mount_codec
from casework.door.routes.openapi import PROBLEM_ANSWERS, describe_problems_and_bodies
from casework.door.routes.problems import answer_with_problems
from casework.door.service import ANSWER_TIMEOUT, MAX_UPLOAD_BYTES, Door, door_client
from casework.identity.keyring import KeyRing
from casework.store import Store

__all__ = ["FeedPage", "create_app", "mount_codec"]


def create_app(
    *,
    store: Store,
    client: Client,
    ring: KeyRing,
    task_queue: str,
    attachments: AttachmentStore,
    oidc: OidcConfig | None = None,
    answer_timeout: float = ANSWER_TIMEOUT,
    case_options: dict[str, Any] | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    page: bool = True,
    opener: Opener | None = None,
    clock: Clock = wall_clock,
    ui_origins: Sequence[str] | None = None,
) -> FastAPI:
    """The door. `client` is any client of the engine's namespace (pydantic data converter);
    the door adds its `PrincipalHeaders(ring)`. `case_options` go to every case it opens (tests
    on the time-skipping server turn search attributes off). `page`: serve the Case Center web
    page (`casework.door.page`) beside the API. `opener`: the intake of the worker beside the
    door (`worker.opener`), so that cases open without an intake workflow. `clock`: the door's
    clock, at which every SLA figure it answers is read (the wall clock; tests set their own).
    `ui_origins`: the Web UI's origins, which may call the codec with credentials (`casework up`
    passes its `--ui-port`'s; by default CASEWORK_CODEC_CORS_ORIGINS or port 8233's)."""
    if attachments.ring is None:  # restricted files are encrypted with the ring's keys
        attachments = AttachmentStore(attachments.root, ring)
    door = Door(
        store=store,
        client=door_client(client, ring),
        task_queue=task_queue,
        attachments=attachments,
        oidc=OidcVerifier(oidc) if oidc else None,
        answer_timeout=answer_timeout,
        case_options=case_options or {},
        max_upload_bytes=max_upload_bytes,
        opener=opener,
        clock=clock,
    )
    app = FastAPI(
        title="casework Case Center API",
        version="1",
        description=contract.__doc__ or "",
        docs_url="/docs",
        redoc_url=None,
        responses=PROBLEM_ANSWERS,
    )
    app.state.door = door
    answer_with_problems(app)
    for router in API_ROUTERS:
        app.include_router(router)
    app.add_middleware(BoundedBodies, max_upload_bytes=max_upload_bytes)
    mount_codec(app, door, ring, ui_origins)
    if page:
        from casework.door.page import mount_page

        mount_page(app, door, ring)
    describe_problems_and_bodies(app)
    app.add_middleware(SecurityHeaders)  # the outermost: every answer carries them (issue 26)
    return app
