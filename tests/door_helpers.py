"""What the door's tests share: the app over a test's database and worker, keys for people of
the demo directory, and an HTTP client that calls the app in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from casework.attachments import AttachmentStore
from casework.door.app import create_app
from casework.door.credentials import OidcConfig, create_key
from casework.store import Store
from tests.conftest import TEST_RING, Desk


def key_for(store: Store, directory_id: str, **options: Any) -> str:
    return create_key(store, directory_id, **options).token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def door_app(
    store: Store,
    desk: Desk,
    tmp_path: Path,
    oidc: OidcConfig | None = None,
    **options: Any,
) -> FastAPI:
    """The door's app over the test's database and worker, as `casework up` builds it."""
    return create_app(
        store=store,
        client=desk.client,
        ring=TEST_RING,
        task_queue=desk.task_queue,
        attachments=AttachmentStore(tmp_path / "state" / "attachments"),  # the worker's (files)
        oidc=oidc,
        case_options=desk.case_options,
        opener=desk.opener,  # as `casework up` runs it: the worker's intake, in this process
        **options,
    )


@asynccontextmanager
async def door(
    store: Store,
    desk: Desk,
    tmp_path: Path,
    oidc: OidcConfig | None = None,
    raise_app_exceptions: bool = True,
    **options: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    """The door in this process. `raise_app_exceptions=False`: an uncaught exception is the
    500 a client of a real server gets, not an exception in the test."""
    async with serving(
        door_app(store, desk, tmp_path, oidc, **options), raise_app_exceptions
    ) as http:
        yield http


@asynccontextmanager
async def serving(
    app: FastAPI, raise_app_exceptions: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of `app`, in this process."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    async with httpx.AsyncClient(transport=transport, base_url="http://door", timeout=60) as http:
        yield http
