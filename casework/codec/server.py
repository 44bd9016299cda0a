"""The codec server: Temporal's remote codec HTTP protocol, for the Web UI and the `temporal`
CLI (`temporal workflow show --codec-endpoint http://<door>/codec --codec-auth "Bearer <key>"`).

    POST /encode, POST /decode
    body and answer: {"payloads": [{"metadata": {"<key>": "<base64>"}, "data": "<base64>"}]}
    headers: Authorization (a casework credential), X-Namespace, Content-Type: application/json

`codec_router(...)` is an APIRouter for the door to mount at `/codec`; `add_codec_cors(app)`
lets the Web UI's origin call it with credentials. It depends on the door only through the
callables it is given:

- `authenticate(authorization_header) -> Principal | None` (awaitable): None for no credential
  or one that does not verify;
- `may_read_restricted(principal, account_id) -> bool` (`casework.codec.access`);
- `audit(principal_id, action, workflow_id, account_id, granted, reason)`.

The credential comes in `Authorization` (the `temporal` CLI's `--codec-auth`; the Web UI's
"Pass the user access token", an OIDC token) or, from the Web UI's "Include cross-origin
credentials", in a cookie: `cookie_credential(request)` reads it (the door: the Case Center's
sign-in session), and it counts only on a request from one of `origins` (the Web UI's) or from
no browser at all (no `Origin`): a page of any other origin lends its visitor's cookie nothing.

Decode, U5: without a valid credential every payload comes back as it came (the UI shows
encrypted payloads, nothing else); with one, ordinary payloads are decrypted, restricted ones
only for a member of the restricted queue or a contact of the payload's account, and every
decode of restricted payloads, granted or refused, is audited (one row per request and
account). Encode: for an authenticated caller only; the codec server does not know the workflow,
so what it encodes is restricted without an account (fail closed).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from google.protobuf.json_format import MessageToDict, ParseDict
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload, Payloads

from casework.codec.payload import CodecError, decrypt_payload, encrypt_payload, labels
from casework.codec.realm import UNKNOWN
from casework.identity.keyring import KeyRing
from casework.identity.principal import Principal
from casework.settings import environment, web_ui_origins

MAX_BODY_BYTES = 16 * 1024 * 1024
"""A request's body: room for a page of history at Temporal's 2 MB payload limit."""
MAX_PAYLOADS = 1_000
MAX_NAMESPACE = 256
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")

Authenticate = Callable[[str | None], Awaitable[Principal | None]]
MayRead = Callable[[Principal, str | None], bool]
Audit = Callable[[str, str, str | None, str | None, bool, str], Any]
CookieCredential = Callable[[Request], str | None]

log = logging.getLogger(__name__)


def refuse(message: str, status: int = 400) -> HTTPException:
    return HTTPException(status_code=status, detail=message)


async def _call(function: Callable[..., Any], *args: Any) -> Any:
    """A callable given by the door: a coroutine function is awaited, a plain one (a database
    read) runs in a thread so the event loop keeps serving."""
    if inspect.iscoroutinefunction(function):
        return await function(*args)
    result = await asyncio.to_thread(function, *args)
    return await result if inspect.isawaitable(result) else result


async def read_payloads(
    request: Request, max_body_bytes: int, max_payloads: int, namespaces: Sequence[str] | None
) -> list[Payload]:
    """The request's payloads, or a 400 that says what is wrong with it."""
    namespace = request.headers.get("x-namespace")
    if namespace is not None and (len(namespace) > MAX_NAMESPACE or namespace.strip() == ""):
        raise refuse("X-Namespace must be a namespace name (1 to 256 characters)")
    if namespaces is not None and namespace is not None and namespace not in namespaces:
        raise refuse(f"this codec serves namespace {', '.join(namespaces)}, not {namespace!r}")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_body_bytes):
        raise refuse(
            f"the request body is {declared} bytes; the codec takes at most "
            f"{max_body_bytes} in one request: send fewer payloads"
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body_bytes:
            raise refuse(
                f"the request body is larger than {max_body_bytes} bytes, the most "
                "the codec takes in one request: send fewer payloads"
            )
    try:
        document = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as e:
        raise refuse(f"the request body is not JSON: {e}") from None
    if not isinstance(document, dict) or not isinstance(document.get("payloads"), list):
        raise refuse('the request body must be {"payloads": [{"metadata": {...}, "data": "..."}]}')
    if len(document["payloads"]) > max_payloads:
        raise refuse(
            f"{len(document['payloads'])} payloads in one request; the codec takes at "
            f"most {max_payloads}"
        )
    for index, item in enumerate(document["payloads"]):
        problem = _not_a_payload(item)
        if problem:
            raise refuse(
                f"payload {index} is not a Temporal payload in protobuf JSON form: {problem}"
            )
    try:
        message = ParseDict(document, Payloads())
    except Exception as e:  # json_format.ParseError, and the base64 decoder's errors
        raise refuse(f"the payloads are not Temporal payloads in protobuf JSON form: {e}") from None
    return list(message.payloads)


def _not_a_payload(item: Any) -> str | None:
    """What is wrong with one payload of a request; None if nothing (protobuf's own parser lets
    characters that are not base64 through)."""
    if not isinstance(item, dict):
        return "expected an object"
    metadata = item.get("metadata", {})
    if not isinstance(metadata, dict):
        return "metadata must be an object of base64 strings"
    for name, value in [*metadata.items(), ("data", item.get("data", ""))]:
        if not isinstance(value, str) or not _BASE64.match(value):
            return f"{name} must be a base64 string"
    return None


def authorization_of(
    request: Request, cookie_credential: CookieCredential | None, origins: Sequence[str]
) -> str | None:
    """The request's credential: its Authorization header, else its cookie's (the module
    docstring: only from the Web UI's origins, or without an Origin)."""
    header = request.headers.get("authorization")
    if header is not None or cookie_credential is None:
        return header
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in origins:
        return None
    return cookie_credential(request)


def answer(payloads: Sequence[Payload]) -> JSONResponse:
    return JSONResponse(MessageToDict(Payloads(payloads=payloads)) or {"payloads": []})


def codec_router(
    ring: KeyRing,
    *,
    authenticate: Authenticate,
    may_read_restricted: MayRead,
    audit: Audit,
    namespaces: Sequence[str] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_payloads: int = MAX_PAYLOADS,
    cookie_credential: CookieCredential | None = None,
    origins: Sequence[str] = (),
) -> APIRouter:
    """The codec endpoints (module docstring), to mount with `app.include_router(router,
    prefix="/codec")`. `namespaces`: the only X-Namespace values served (None: any);
    `cookie_credential` and `origins`: a browser's credential (module docstring)."""
    router = APIRouter()
    allowed = [o.rstrip("/") for o in origins]

    async def caller(request: Request) -> Principal | None:
        return await authenticate(authorization_of(request, cookie_credential, allowed))

    @router.post("/decode")
    async def decode(request: Request) -> JSONResponse:
        payloads = await read_payloads(request, max_body_bytes, max_payloads, namespaces)
        principal = await caller(request)
        if principal is None:
            return answer(payloads)  # no credential: what the UI gets is what it sent
        decisions: dict[str | None, bool] = {}
        asked: Counter[str | None] = Counter()
        decoded = []
        for payload in payloads:
            realm = labels(payload)
            if realm is None:
                decoded.append(payload)
                continue
            if realm.restricted:
                account = realm.account_id
                asked[account] += 1
                if account not in decisions:
                    decisions[account] = bool(await _call(may_read_restricted, principal, account))
                if not decisions[account]:
                    decoded.append(payload)
                    continue
            try:
                decoded.append(decrypt_payload(ring, payload))
            except CodecError as e:  # the rest of the page still decodes
                log.warning("codec: a payload was left encrypted: %s", e)
                decoded.append(payload)
        for account, count in asked.items():
            granted = decisions[account]
            reason = (
                f"{count} restricted payload(s) decoded"
                if granted
                else f"{count} restricted payload(s) left encrypted: not a member of the "
                "restricted queue nor a contact of the account (U5)"
            )
            await _call(audit, principal.id, "decode", None, account, granted, reason)
        return answer(decoded)

    @router.post("/encode")
    async def encode(request: Request) -> JSONResponse:
        payloads = await read_payloads(request, max_body_bytes, max_payloads, namespaces)
        principal = await caller(request)
        if principal is None:
            raise refuse(
                "encoding needs a casework credential: send Authorization: Bearer <key>, or "
                "sign in to the Case Center at this codec's address in this browser and turn on "
                "the Web UI's Include cross-origin credentials",
                401,
            )
        return answer([encrypt_payload(ring, UNKNOWN, p) for p in payloads])

    return router


def ui_origins(environ: dict[str, str] | None = None, ui_port: int | None = None) -> list[str]:
    """The browser origins allowed to call the codec: CASEWORK_CODEC_CORS_ORIGINS when set (a
    deployment's Web UI), else the Web UI at `ui_port` on this machine (`casework up
    --ui-port`), else the default port's (casework.settings)."""
    told = environment(environ)
    if ui_port is not None and not told.is_set("codec_cors_origins"):
        return list(web_ui_origins(ui_port))
    return list(told.codec_cors_origins)


class CodecCors:
    """CORS for the codec's paths only: the Web UI's origin may call `/codec/...` with
    credentials, and nothing else of the app (the Case Center's pages and API answer no
    other origin)."""

    def __init__(self, app: ASGIApp, prefix: str, origins: Sequence[str]) -> None:
        from fastapi.middleware.cors import CORSMiddleware

        self.app = app
        self.prefix = prefix.rstrip("/") + "/"
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_credentials=True,
            allow_methods=["POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Namespace"],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(self.prefix):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def add_codec_cors(
    app: FastAPI, origins: Sequence[str] | None = None, prefix: str = "/codec"
) -> None:
    """Let the Web UI (another origin) call the codec with its credential: the UI sends
    Authorization, Content-Type and X-Namespace, with credentials (cookies)."""
    app.add_middleware(CodecCors, prefix=prefix, origins=list(origins or ui_origins()))
