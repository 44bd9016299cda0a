"""The door's ASGI app (`create_app`): the HTTP API of `casework.door`, version 1.

Every request but `/healthz` is authenticated first (`Door.person` in `casework.door.service`:
an API key or an OIDC bearer token, bound to a person of the directory); then the door checks
what the credential allows (`casework.door.rules`) and calls Temporal through
`casework.client`, inside `acting(principal)` on a client that carries `PrincipalHeaders`, so
every update and query it sends holds a token signed for that person. Reads of a restricted
case's content, granted or refused, are written to the audit table (U5). Bodies are bounded
(`casework.door.bounds`); errors answer as `casework.door.errors` says.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import Client

from casework import door as contract
from casework.attachments import AttachmentStore
from casework.client import (
    CaseworkError,
    act_on_case,
    case_list_query,
    check_case_id,
    list_cases,
    open_case,
    read_case,
)
from casework.codec.access import register_intake_realm
from casework.domain.actions import ACTION_MODELS, Accept, ActionBase
from casework.domain.feed_pages import feed_window
from casework.domain.models import FeedEntry, OpenCaseRequest
from casework.domain.us_citizen import withhold_feed, withhold_outbox
from casework.door.bounds import BoundedBodies, store_upload
from casework.door.credentials import (
    OidcConfig,
    OidcVerifier,
)
from casework.door.errors import DoorError, explain
from casework.door.people import Identity, identify
from casework.door.rules import (
    BadRequest,
    Refused,
    action_fields,
    open_fields,
    restricted_reason,
)
from casework.door.service import ANSWER_TIMEOUT, MAX_UPLOAD_BYTES, Door, door_client
from casework.door.webhooks import router as webhooks_router
from casework.identity.interceptors import acting
from casework.identity.keyring import KeyRing
from casework.identity.principal import Principal
from casework.store import Store

MAX_LISTED_CASES = 1_000
ACTIONS: dict[str, type[ActionBase]] = {**ACTION_MODELS, "accept": Accept}


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
        stored = await store_upload(door, file, restricted=realm is None or realm.restricted)
        payload = {**fields, "sha256": stored.sha256, "size": stored.size}
        with acting(Principal(id=person.id, via=person.via)):
            result = await door.answered(
                act_on_case(door.client, case_id, "attach", payload), f"attach on {case_id}"
            )
        return result.model_dump(mode="json", exclude_none=True)

    app.include_router(webhooks_router)  # issue 14: integrations' webhooks (operators only)
    app.add_middleware(BoundedBodies, max_upload_bytes=max_upload_bytes)
    mount_codec(app, door, ring)
    return app


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
