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

from fastapi import Depends, FastAPI, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import Client

from casework import door as contract
from casework.attachments import AttachmentStore
from casework.client import Opener
from casework.domain.actions import ActionResult
from casework.domain.models import CaseView, OpenCaseResult
from casework.domain.us_citizen import withhold_outbox
from casework.door import center
from casework.door.bodies import json_object
from casework.door.bounds import BoundedBodies
from casework.door.center import MAX_LISTED_CASES, FeedPage
from casework.door.credentials import (
    OidcConfig,
    OidcVerifier,
)
from casework.door.errors import (
    PROBLEM_JSON,
    PROBLEMS,
    DoorError,
    explain,
    field_names,
    problem_response,
)
from casework.door.health import router as health_router
from casework.door.people import Identity
from casework.door.service import (
    ANSWER_TIMEOUT,
    IDEMPOTENCY_HEADER,
    MAX_UPLOAD_BYTES,
    Door,
    door_client,
)
from casework.door.webhooks import router as webhooks_router
from casework.identity.keyring import KeyRing
from casework.store import Store

__all__ = ["FeedPage", "create_app"]

PROBLEM_ANSWERS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": title,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, (_, title) in PROBLEMS.items()
}
"""Every route may answer these, as RFC 9457 problems (the OpenAPI document says so)."""


async def _json_body(request: Request) -> dict[str, Any]:
    """The body's fields; 422 for any body that is not a JSON object (casework.door.bodies)."""
    return json_object(await request.body())


async def _authenticated(request: Request) -> Identity:
    door: Door = request.app.state.door
    return await door.person(request.headers.get("authorization"))


Person = Annotated[Identity, Depends(_authenticated)]
"""A handler's parameter: the authenticated person (401/403 before the handler runs)."""
IdempotencyKey = Annotated[
    str | None,
    Header(
        description="Any string of 1 to 64 letters, digits and . _ @ : - (a UUID is good), new "
        "for each action you mean to take once. Send a request again with the same key after "
        "a timeout, a 429 or a 503: the case applies it at most once (for 24 hours, and its "
        "256 newest actions) and answers with its first outcome; the same key with another "
        "request answers 422. Without one, a resend is a new action."
    ),
]


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
) -> FastAPI:
    """The door. `client` is any client of the engine's namespace (pydantic data converter);
    the door adds its `PrincipalHeaders(ring)`. `case_options` go to every case it opens (tests
    on the time-skipping server turn search attributes off). `page`: serve the Case Center web
    page (`casework.door.page`) beside the API. `opener`: the intake of the worker beside the
    door (`worker.opener`), so that cases open without an intake workflow."""
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

    @app.exception_handler(DoorError)
    async def _door_error(request: Request, error: DoorError) -> JSONResponse:
        return problem_response(error.status, error.message, error.fields, error.headers)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return problem_response(422, explain(error, "bad request"), field_names(error))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = str(error.detail)
        if error.status_code == 404:
            message = f"there is no {request.url.path} in this API (see /docs)"
        if error.status_code == 400:  # only the form parsers answer a bare 400 (issue 24)
            return problem_response(
                422,
                f"the request body is not a form this route takes ({message}): send "
                "multipart/form-data (a file in the field `file`) or a URL-encoded form",
            )
        return problem_response(error.status_code, message)

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/problems/{slug}", response_class=HTMLResponse, include_in_schema=False)
    async def problem_type(slug: str) -> HTMLResponse:
        """What each problem `type` means (RFC 9457 asks that a type URI explain itself)."""
        for status, (name, title) in PROBLEMS.items():
            if name == slug:
                return HTMLResponse(
                    f"<!doctype html><title>{title}</title><h1>{status} {title}</h1>"
                    "<p>The problem's <code>detail</code> says what was wrong and how to fix "
                    "it. See <a href='/docs'>/docs</a>.</p>"
                )
        raise DoorError(404, f"there is no problem type {slug!r}")

    @app.get("/v1/whoami")
    async def whoami(person: Person) -> Identity:
        return person

    @app.post("/v1/cases")
    async def open_a_case(
        person: Person,
        request: Request,
        idempotency_key: Annotated[
            str | None,
            Header(
                description="Opening is idempotent on it: the same key with the same request "
                "answers the same case (created false); with another request, 422 naming the "
                "fields that differ. A key is the caller's own: a contact's is their account's, "
                "anyone else's their own; the same key from another account opens its own case."
            ),
        ] = None,
    ) -> OpenCaseResult:
        """Open a case, or (P2) be referred to your partner: then `referred_to`,
        `partner_contact` and `referral_id` are set and there is no `case_id`."""
        body = await _json_body(request)
        return await center.open_for(door, person, body, idempotency_key)

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
        found = await center.list_for(
            door,
            person,
            state=state,
            priority=priority,
            tier=tier,
            breached=breached,
            account=account,
            restricted=restricted,
            security=security,
            limit=limit,
        )
        return [c.model_dump(mode="json") for c in found]

    @app.get("/v1/cases/{case}")
    async def show(person: Person, case: str) -> CaseView:
        """U5: a running restricted case is read with its audited `read` update."""
        return await center.show_for(door, person, center.case_number(case))

    @app.get("/v1/cases/{case}/feed")
    async def feed(
        person: Person,
        case: str,
        page: Annotated[int, Query(ge=1)] = 1,
        page_size: Annotated[int, Query(ge=1)] = 50,
    ) -> FeedPage:
        """Older pages come from the database; U5 withholds them from outsiders as the case
        withholds its own tail."""
        return await center.feed_for(door, person, center.case_number(case), page, page_size)

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
        case_id = center.case_number(case) if case else None
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
    async def act(
        person: Person,
        case: str,
        action: str,
        request: Request,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> ActionResult:
        """Any Case Center action but attach: the action's fields but `actor` (who acts comes
        from the credential); Customer Care adds `on_behalf_of` for a caller (E3, U6). Safe
        to send again with the same Idempotency-Key (after a timeout, a 429 or a 503): the
        case applies it at most once and answers with its first outcome."""
        case_id = center.case_number(case)
        body = await _json_body(request)
        result = await center.act_for(door, person, case_id, action, body, idempotency_key)
        if idempotency_key is not None:
            response.headers[IDEMPOTENCY_HEADER] = idempotency_key
        return result

    @app.post("/v1/cases/{case}/attachments")
    async def attach(
        person: Person,
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

    @app.get(
        "/v1/cases/{case}/attachments/{attachment}",
        response_class=FileResponse,
        responses={200: {"content": {"application/octet-stream": {}}}},
    )
    async def download(person: Person, case: str, attachment: str) -> FileResponse:
        """A file of the case (`att-N`), streamed from the attachment store; U5: withheld from
        outsiders of a restricted case, and every read is audited."""
        got = await center.download_for(door, person, center.case_number(case), attachment)
        return center.file_response(got)

    app.include_router(webhooks_router)  # issue 14: integrations' webhooks (operators only)
    app.include_router(health_router)  # issue 27: /livez, /readyz for a load balancer
    app.add_middleware(BoundedBodies, max_upload_bytes=max_upload_bytes)
    mount_codec(app, door, ring)
    if page:
        from casework.door.page import mount_page

        mount_page(app, door, ring)
    _problem_schema(app)
    return app


def _problem_schema(app: FastAPI) -> None:
    """The OpenAPI document names the RFC 9457 problem every error answers with."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = {
            "type": "object",
            "title": "Problem",
            "description": "RFC 9457 problem details; `error` repeats `detail`, `fields` "
            "names the request's fields a 422 is about.",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "error": {"type": "string"},
                "fields": {"type": "array", "items": {"type": "string"}},
            },
        }
        _request_bodies(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _request_bodies(schema: dict[str, Any]) -> None:
    """The JSON bodies the open and action routes read themselves (they answer a malformed one
    with the CLI's sentence), described from the same models the door validates with: each
    action's fields without `actor` (the credential says who acts)."""
    from casework.domain.models import OpenCaseRequest
    from casework.door.rules import FILLED_BY_THE_DOOR, PHONE_ACTIONS

    components = schema["components"]["schemas"]
    template = "#/components/schemas/{model}"

    def add(name: str, model: Any, drop: tuple[str, ...], extra: dict[str, Any]) -> str:
        body = model.model_json_schema(ref_template=template)
        components.update(body.pop("$defs", {}))
        for field in drop:
            body.get("properties", {}).pop(field, None)
        body["required"] = [r for r in body.get("required", []) if r not in drop]
        body.setdefault("properties", {}).update(extra)
        body["title"] = name
        components[name] = body
        return f"#/components/schemas/{name}"

    behalf = {
        "on_behalf_of": {
            "type": "string",
            "description": "Customer Care only: the caller's contact id (E3, U6)",
        }
    }
    refs = [
        add(
            f"Action_{name}",
            model,
            FILLED_BY_THE_DOOR,
            behalf if name in PHONE_ACTIONS else {},
        )
        for name, model in sorted(center.ACTIONS.items())
        if name != "attach"
    ]
    act = schema["paths"]["/v1/cases/{case}/actions/{action}"]["post"]
    act["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"oneOf": [{"$ref": r} for r in refs]}}},
        "description": "The fields of the action named in the path (Action_<name>).",
    }
    opening = add(
        "OpenCaseBody",
        OpenCaseRequest,
        ("request_id", "channel", "account_id", "contact_id"),
        {
            "request_id": {
                "type": "string",
                "description": "or the Idempotency-Key header (the caller's own, as it is)",
            },
            "channel": {"type": "string", "description": "default: what your credential says"},
            "account_id": {"type": "string", "description": "default: your account"},
            "contact_id": {"type": "string", "description": "default: yourself"},
        },
    )
    schema["paths"]["/v1/cases"]["post"]["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": opening}}},
    }


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
