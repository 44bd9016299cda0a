"""The door's ASGI app (`create_app`): the HTTP API of `casework.door`, version 1.

Every request but `/healthz` is authenticated first (`Door.authenticate`: an API key or an OIDC
bearer token, bound to a person of the directory); then the door checks what the credential
allows (`casework.door.rules`) and calls Temporal through `casework.client`, inside
`acting(principal)` on a client that carries `PrincipalHeaders`, so every update and query it
sends holds a token signed for that person. Reads of a restricted case's content, granted or
refused, are written to the audit table (U5). The database is blocking (SQLAlchemy): its calls
run in threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from casework import door as contract
from casework.attachments import AttachmentRefused, AttachmentStore
from casework.client import (
    CaseworkError,
    act_on_case,
    case_list_query,
    check_case_id,
    list_cases,
    open_case,
    read_case,
    view_case,
)
from casework.codec.access import register_intake_realm
from casework.domain.actions import ACTION_MODELS, Accept, ActionBase
from casework.domain.feed_pages import feed_window
from casework.domain.models import CaseView, FeedEntry, OpenCaseRequest
from casework.domain.us_citizen import withhold_feed, withhold_outbox
from casework.door.credentials import (
    KEY_PREFIX,
    MAX_CREDENTIAL_CHARS,
    CredentialRefused,
    OidcConfig,
    OidcVerifier,
    check_api_key,
)
from casework.door.people import Identity, identify
from casework.door.rules import (
    BadRequest,
    Refused,
    action_fields,
    may_see_case_of,
    open_fields,
    restricted_reason,
)
from casework.identity.interceptors import PrincipalHeaders, acting
from casework.identity.keyring import KeyRing
from casework.identity.principal import Principal
from casework.store import Store

T = TypeVar("T")

ANSWER_TIMEOUT = 30.0
"""Seconds the door waits for Temporal and the worker (open, read, an action) before 503."""
MAX_BODY_BYTES = 1 << 20
"""A JSON request's bound: the longest text field is 20,000 characters."""
MAX_UPLOAD_BYTES = 256 << 20
"""An attachment's bound (a large log); `create_app(max_upload_bytes=...)` changes it."""
MAX_LISTED_CASES = 1_000
UPLOAD_CHUNK = 1 << 20
ACTIONS: dict[str, type[ActionBase]] = {**ACTION_MODELS, "accept": Accept}
FIELD_HINTS = {
    "string_pattern_mismatch": "may contain only letters, digits and . _ @ : -",
    "string_too_short": "must not be empty",
    "extra_forbidden": "is not a field of this request",
    "missing": "is required",
}


class DoorError(Exception):
    """An answer other than 2xx: the status and one paragraph for `{"error": ...}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FeedPage(BaseModel):
    """`GET /v1/cases/{case}/feed`: one page of the feed (E4). Page 1 holds the newest
    `page_size` entries, page 2 the ones before; within a page, entries are in the order they
    happened (as `casework show --page` prints them)."""

    case_id: str
    page: int
    page_size: int
    total: int
    withheld: bool = False
    """U5: the entries say that they exist, not what they say."""
    entries: list[FeedEntry]


def explain(error: ValidationError | RequestValidationError, what: str) -> str:
    """A validation error as the field and what to write in it."""
    parts = []
    for err in error.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        where = ".".join(loc) or "the request"
        message = FIELD_HINTS.get(err["type"], str(err["msg"]).removeprefix("Value error, "))
        parts.append(f"{where}: {message}")
    return f"{what}: " + "; ".join(parts)


def door_client(client: Client, ring: KeyRing) -> Client:
    """`client` with the door's `PrincipalHeaders` interceptor (once)."""
    config = client.config()
    if any(isinstance(i, PrincipalHeaders) for i in config["interceptors"]):
        return client
    config["interceptors"] = [*config["interceptors"], PrincipalHeaders(ring)]
    return Client(**config)


def _refusal_type(error: BaseException) -> str | None:
    """The ApplicationError type behind a CaseworkError. `casework.client` raises it `from
    None`, which hides the cause from tracebacks but keeps it as `__context__`."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ApplicationError) and current.type:
            return current.type
        stack += [current.__cause__, current.__context__]
    return None


def _case_error(error: CaseworkError) -> DoorError:
    message = str(error)
    if message.startswith("there is no case"):
        return DoorError(404, message)
    kind = _refusal_type(error)
    if kind == "InvalidPayload":
        return DoorError(400, message)
    if kind == "DirectoryUnavailable":
        return DoorError(503, message)
    return DoorError(409, message)


@dataclass
class Door:
    """What the app's handlers share."""

    store: Store
    client: Client
    task_queue: str
    attachments: AttachmentStore
    oidc: OidcVerifier | None = None
    answer_timeout: float = ANSWER_TIMEOUT
    case_options: dict[str, Any] = field(default_factory=dict)
    max_upload_bytes: int = MAX_UPLOAD_BYTES

    # --- who is asking ----------------------------------------------------------------------

    async def person(self, authorization: str | None) -> Identity:
        """The person the credential belongs to, or DoorError 401/403."""
        if not authorization:
            raise DoorError(
                401,
                "no credential: send `Authorization: Bearer <key>` with the API key `casework "
                "keys create` printed for you (or, where configured, an OIDC access token)",
            )
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise DoorError(401, "the Authorization header must be `Bearer <credential>`")
        if len(credential) > MAX_CREDENTIAL_CHARS:
            raise DoorError(401, f"the credential is longer than {MAX_CREDENTIAL_CHARS} characters")
        now = datetime.now(UTC)
        try:
            if credential.startswith(KEY_PREFIX):
                directory_id = await asyncio.to_thread(check_api_key, self.store, credential, now)
                via = "api-key"
            elif self.oidc is not None:
                directory_id = await asyncio.to_thread(self.oidc.check, credential)
                via = "oidc"
            else:
                raise CredentialRefused(
                    "the credential is not a casework API key (cw_...), and this door takes no "
                    "OIDC tokens (CASEWORK_OIDC_* is not set): send the key `casework keys "
                    "create` printed for you"
                )
        except CredentialRefused as e:
            raise DoorError(401, str(e)) from None
        person = await asyncio.to_thread(identify, self.store, directory_id, via)  # type: ignore[arg-type]
        if person is None:
            raise DoorError(
                403,
                f"the credential is good, but {directory_id!r} is not in the casework directory "
                "(no contact, engineer, partner engineer or Escalation Manager has that id): "
                "ask your operator",
            )
        return person

    async def authenticate(self, authorization: str | None) -> Principal | None:
        """For the codec server: the principal of a good credential, None for any other."""
        try:
            person = await self.person(authorization)
        except DoorError:
            return None
        return Principal(id=person.id, via=person.via)

    async def may_read_restricted(self, principal: Principal, account_id: str) -> bool:
        """U5, for the codec server: a member of the restricted queue now, or a contact of the
        account."""
        person = await asyncio.to_thread(identify, self.store, principal.id, principal.via)
        if person is None:
            return False
        return person.restricted_member or (
            person.kind == "contact" and person.account == account_id
        )

    async def audit(
        self,
        principal: Principal | Identity,
        action: str,
        case_id: str | None,
        account_id: str | None,
        granted: bool,
        reason: str = "",
        path: str = "api",
    ) -> None:
        await asyncio.to_thread(
            self.store.audit.record,
            principal=principal.id,
            on_behalf_of=getattr(principal, "on_behalf_of", None),
            path=path,  # type: ignore[arg-type]
            action=action,
            case_id=case_id,
            account_id=account_id,
            granted=granted,
            reason=reason,
        )

    # --- talking to Temporal ----------------------------------------------------------------

    async def answered(self, work: Awaitable[T], what: str, hint: str = "") -> T:
        """`work`'s result; DoorError 503 when Temporal or the worker does not answer in time,
        the CaseworkError's status otherwise."""
        try:
            return await asyncio.wait_for(work, self.answer_timeout)
        except TimeoutError:
            raise DoorError(
                503,
                f"no answer to {what} within {self.answer_timeout:.0f} s: the casework worker "
                f"(task queue {self.task_queue!r}) or Temporal is not answering; try again "
                f"shortly.{hint}",
            ) from None
        except CaseworkError as e:
            raise _case_error(e) from None
        except RPCError as e:
            if e.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                raise DoorError(503, f"Temporal is not reachable: {e.message}") from None
            raise DoorError(409, f"Temporal refused {what}: {e.message}") from None

    async def view(self, person: Identity, case_id: str) -> CaseView:
        """The case's view by query, after checking that `person` may look at its account."""
        principal = Principal(id=person.id, via=person.via)
        with acting(principal):
            view = await self.answered(
                view_case(self.client, case_id, person.id), f"the view of {case_id}"
            )
        refusal = may_see_case_of(person, view.account_id, view.partner_id)
        if refusal is not None:
            if view.restricted:
                await self.audit(person, "read", case_id, view.account_id, False, refusal)
            raise DoorError(403, f"{case_id} is not shown: {refusal}")
        return view

    async def contacts_of(self, account_id: str) -> set[str]:
        account = await asyncio.to_thread(self.store.directory.account, account_id)
        return {c.id for c in account.contacts} if account else set()


def _case(case: str) -> str:
    try:
        return check_case_id(case)
    except CaseworkError as e:
        raise DoorError(400, str(e)) from None


async def _json_body(request: Request) -> dict[str, Any]:
    if not await request.body():
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise DoorError(400, "the request body is not JSON: send a JSON object") from None
    if not isinstance(body, dict):
        raise DoorError(400, "the request body must be a JSON object of fields")
    return body


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
            await JSONResponse({"error": message}, status_code=413)(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            item = await receive()
            if item["type"] == "http.request":
                received += len(item.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return item

        async def watched(item: Message) -> None:
            nonlocal started
            if item["type"] == "http.response.start":
                started = True
            await send(item)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await JSONResponse({"error": message}, status_code=413)(scope, receive, send)


async def _authenticated(request: Request) -> Identity:
    door: Door = request.app.state.door
    return await door.person(request.headers.get("authorization"))


Person = Annotated[Identity, Depends(_authenticated)]
"""A handler's parameter: the authenticated person (401/403 before the handler runs)."""


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
) -> FastAPI:
    """The door. `client` is any client of the engine's namespace (pydantic data converter);
    the door adds its `PrincipalHeaders(ring)`. `case_options` go to every case it opens (tests
    on the time-skipping server turn search attributes off)."""
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
    )
    app = FastAPI(
        title="casework door",
        version="1",
        description=contract.__doc__ or "",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.door = door

    @app.exception_handler(DoorError)
    async def _door_error(request: Request, error: DoorError) -> JSONResponse:
        return JSONResponse({"error": error.message}, status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": explain(error, "bad request")}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = str(error.detail)
        if error.status_code == 404:
            message = f"there is no {request.url.path} in this API (see /docs)"
        return JSONResponse({"error": message}, status_code=error.status_code)

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/v1/whoami")
    async def whoami(person: Person) -> Identity:
        return person

    @app.post("/v1/cases")
    async def open_a_case(person: Person, request: Request) -> dict[str, Any]:
        try:
            fields = open_fields(person, await _json_body(request))
        except Refused as e:
            raise DoorError(403, f"case not opened: {e}") from None
        try:
            opening = OpenCaseRequest.model_validate(fields)
        except ValidationError as e:
            raise DoorError(400, explain(e, "case not opened")) from None
        # U5: the intake's input (the description) is encrypted with the account's keys
        await asyncio.to_thread(
            register_intake_realm, door.store, opening.request_id, opening.account_id
        )
        result = await door.answered(
            open_case(
                door.client,
                opening,
                task_queue=door.task_queue,
                case_options=door.case_options,
            ),
            f"open request {opening.request_id}",
            f" The request is kept: send it again with request_id {opening.request_id} to get "
            "its case number.",
        )
        return result.model_dump(mode="json", exclude_none=True)

    @app.get("/v1/cases")
    async def cases(
        person: Person,
        state: str | None = None,
        priority: str | None = None,
        tier: str | None = None,
        breached: bool | None = None,
        account: str | None = None,
        restricted: bool | None = None,
        security: bool = False,
        limit: Annotated[int, Query(ge=1, le=MAX_LISTED_CASES)] = 50,
    ) -> list[dict[str, Any]]:
        """Rows carry no content of a case (U5). A contact lists their own account's cases."""
        if person.kind == "contact":
            if account is not None and account != person.account:
                raise DoorError(
                    403, f"{person.id} is a contact of {person.account}: list its cases only"
                )
            account = person.account
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
            raise DoorError(400, str(e)) from None
        found = await door.answered(list_cases(door.client, query, limit=limit), "the case list")
        return [c.model_dump(mode="json") for c in found]

    @app.get("/v1/cases/{case}")
    async def show(person: Person, case: str) -> dict[str, Any]:
        """U5: a running restricted case is read with its audited `read` update."""
        case_id = _case(case)
        view = await door.view(person, case_id)
        if view.restricted:
            principal = Principal(id=person.id, via=person.via)
            with acting(principal):
                view = await door.answered(
                    read_case(door.client, case_id, person.id), f"the view of {case_id}"
                )
            contacts = await door.contacts_of(view.account_id)
            reason = restricted_reason(person, view.account_id, contacts)
            withheld = view.content_withheld or reason is not None
            await door.audit(person, "read", case_id, view.account_id, not withheld, reason or "")
            if withheld and not view.content_withheld:  # the case knew an older membership
                raise DoorError(403, f"{case_id} is not shown: {reason}")
        return view.model_dump(mode="json")

    @app.get("/v1/cases/{case}/feed")
    async def feed(
        person: Person,
        case: str,
        page: Annotated[int, Query(ge=1)] = 1,
        page_size: Annotated[int, Query(ge=1)] = 50,
    ) -> FeedPage:
        """Older pages come from the database; U5 withholds them from outsiders as the case
        withholds its own tail."""
        case_id = _case(case)
        try:
            feed_window(0, page, page_size)
        except ValueError as e:
            raise DoorError(400, f"page and page_size: {e}") from None
        view = await door.view(person, case_id)
        withheld = view.content_withheld
        reason = ""
        contacts: set[str] = set()
        if view.restricted:
            contacts = await door.contacts_of(view.account_id)
            reason = restricted_reason(person, view.account_id, contacts) or ""
            withheld = withheld or bool(reason)
        offset, limit = feed_window(view.feed_total, page, page_size)
        first = view.feed_total - len(view.feed)
        if offset >= first:
            entries = [
                e for e in view.feed if e.seq is not None and offset <= e.seq < offset + limit
            ]
        else:
            rows = await asyncio.to_thread(
                door.store.feed.page, case_id, offset=offset, limit=limit
            )
            entries = [FeedEntry.model_validate(r) for r in rows]
        if withheld:
            entries = withhold_feed(entries, contacts)
        if view.restricted:
            await door.audit(person, "feed", case_id, view.account_id, not withheld, reason)
        return FeedPage(
            case_id=case_id,
            page=page,
            page_size=page_size,
            total=view.feed_total,
            withheld=withheld,
            entries=entries,
        )

    @app.get("/v1/outbox")
    async def notifications(
        person: Person,
        case: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[dict[str, Any]]:
        """What the engine told people (newest `limit`, of one case or all the person may look
        at): a contact sees their own account's cases, a partner's engineer what went to them;
        U5 withholds a restricted case's bodies from outsiders, and every read of them, granted
        or refused, is audited."""
        case_id = _case(case) if case else None
        rows = await asyncio.to_thread(door.store.outbox.rows, case_id, limit)
        accounts: dict[str, str | None] = {}
        for c in {r["case_id"] for r in rows if r["case_id"]}:
            realm = await asyncio.to_thread(door.store.realms.lookup, c)
            accounts[c] = realm.account_id if realm else None

        def visible(row: dict[str, Any]) -> bool:
            if person.kind == "partner_engineer":
                return bool(row["recipient_id"] == person.id)
            if person.kind == "contact":
                return accounts.get(row["case_id"] or "") == person.account
            return True

        rows = [r for r in rows if visible(r)]
        members = set(await asyncio.to_thread(door.store.directory.restricted_members))
        contacts_of: dict[str, set[str]] = {}
        for account_id in {r["account_id"] for r in rows if r["restricted"] and r["account_id"]}:
            contacts_of[account_id] = await door.contacts_of(account_id)
        restricted = {(r["case_id"], r["account_id"]) for r in rows if r["restricted"]}
        withhold_outbox(rows, person.id, members, contacts_of)
        for case_of, account_id in sorted(restricted, key=str):
            withheld = any(r["withheld"] for r in rows if r["case_id"] == case_of)
            reason = f"{person.id} is not in the restricted queue" if withheld else ""
            await door.audit(person, "outbox", case_of, account_id, not withheld, reason)
        return rows

    @app.post("/v1/cases/{case}/actions/{action}")
    async def act(person: Person, case: str, action: str, request: Request) -> dict[str, Any]:
        case_id = _case(case)
        if action == "attach":
            raise DoorError(
                400, f"attach a file with POST /v1/cases/{case_id}/attachments (multipart)"
            )
        model = ACTIONS.get(action)
        if model is None:
            raise DoorError(
                400, f"there is no action {action!r}; use one of {', '.join(sorted(ACTIONS))}"
            )
        body = await _json_body(request)
        named = body.get("on_behalf_of")
        acted_for = None
        if isinstance(named, str) and named.strip():
            acted_for = await asyncio.to_thread(identify, door.store, named.strip(), person.via)
        try:
            payload = action_fields(person, action, body, acted_for)
        except BadRequest as e:
            raise DoorError(400, f"{action} not sent: {e}") from None
        except Refused as e:
            raise DoorError(403, f"{action} not sent: {e}") from None
        try:
            checked = model.model_validate(payload).model_dump(mode="json", exclude_none=True)
        except ValidationError as e:
            raise DoorError(400, explain(e, f"{action} not sent")) from None
        principal = Principal(
            id=person.id, on_behalf_of=acted_for.id if acted_for else None, via=person.via
        )
        with acting(principal):
            result = await door.answered(
                act_on_case(door.client, case_id, action, checked), f"{action} on {case_id}"
            )
        return result.model_dump(mode="json", exclude_none=True)

    @app.post("/v1/cases/{case}/attachments")
    async def attach(
        person: Person,
        case: str,
        file: Annotated[UploadFile, File()],
        kind: Annotated[str, Form()] = "log",
        name: Annotated[str | None, Form()] = None,
    ) -> dict[str, Any]:
        """The file goes to the attachment store; the case records only its reference (U5)."""
        case_id = _case(case)
        fields = {"actor": person.id, "name": name or file.filename or "", "kind": kind}
        try:
            ACTION_MODELS["attach"].model_validate({**fields, "sha256": "0" * 64, "size": 0})
        except ValidationError as e:
            raise DoorError(400, explain(e, "attach not sent")) from None
        realm = await asyncio.to_thread(door.store.realms.lookup, case_id)
        stored = await _store_upload(door, file, restricted=realm is None or realm.restricted)
        payload = {**fields, "sha256": stored.sha256, "size": stored.size}
        with acting(Principal(id=person.id, via=person.via)):
            result = await door.answered(
                act_on_case(door.client, case_id, "attach", payload), f"attach on {case_id}"
            )
        return result.model_dump(mode="json", exclude_none=True)

    app.add_middleware(BoundedBodies, max_upload_bytes=max_upload_bytes)
    mount_codec(app, door, ring)
    return app


async def _store_upload(door: Door, upload: UploadFile, *, restricted: bool) -> Any:
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


# --- the codec server's mount point (issue 10) --------------------------------------------------


def mount_codec(app: FastAPI, door: Door, ring: KeyRing) -> None:
    """The codec server (`casework.codec.server`) at `/codec`, for the Web UI and
    `temporal --codec-endpoint`: it decrypts for a valid casework credential only, restricted
    payloads only for the restricted queue's members and the account's contacts, and every
    decode of a restricted payload, granted or refused, is in the audit table (path codec)."""
    from casework.codec.access import restricted_reader
    from casework.codec.server import add_codec_cors, codec_router

    def audit(
        principal_id: str,
        action: str,
        workflow_id: str | None,
        account_id: str | None,
        granted: bool,
        reason: str,
    ) -> None:
        door.store.audit.record(
            principal=principal_id,
            on_behalf_of=None,
            path="codec",
            action=action,
            case_id=workflow_id,
            account_id=account_id,
            granted=granted,
            reason=reason,
        )

    app.include_router(
        codec_router(
            ring,
            authenticate=door.authenticate,
            may_read_restricted=restricted_reader(door.store),
            audit=audit,
        ),
        prefix="/codec",
    )
    add_codec_cors(app)
