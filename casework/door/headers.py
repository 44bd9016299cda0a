"""The headers every answer of the door carries (issue 26): a Content-Security-Policy that
allows no inline script and no framing, `nosniff`, a same-origin referrer, and
`Cache-Control: no-store` on everything but the stylesheet and scripts under `/static`, so that
a signed-in page (a case, its files, the API's answers) is never kept by a browser or a proxy:
Back after signing out asks the door again, which asks for a sign-in.

An ASGI middleware (no body is read, so downloads stream as before) outside the app's routes,
so that every route, a new one included, answers with them: pages, the API, problems, the
sign-in redirect. The one exception is FastAPI's API browser at `/docs`, which loads Swagger UI
from its CDN and starts it with an inline script: its policy allows that CDN, and the inline
scripts by their SHA-256 (computed from the page as it is sent, so nothing else may run).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
"""Every answer's policy: the door's own stylesheet and scripts, forms sent to the door only,
never in a frame (clickjacking), no inline script or style."""
SWAGGER_CDN = "https://cdn.jsdelivr.net"
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect"})
"""FastAPI's API browser (`docs_url`) and its OAuth2 redirect page."""
NO_STORE_EXCEPT = ("/static/",)
"""What a browser may cache: the stylesheet and scripts, the same for everyone."""
MAX_DOCS_PAGE = 64 * 1024
"""The API browser's page is about 1 KB; a body past this is sent without inline scripts
allowed."""
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def docs_policy(hashes: Iterable[str]) -> str:
    """The API browser's policy: Swagger UI from its CDN, its inline scripts by hash only."""
    allowed = " ".join(f"'sha256-{h}'" for h in hashes)
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {SWAGGER_CDN} {allowed}".rstrip(),
            f"style-src {SWAGGER_CDN}",
            "img-src 'self' data: https://fastapi.tiangolo.com",
            "connect-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        )
    )


def inline_script_hashes(html: bytes) -> list[str]:
    """The base64 SHA-256 of each inline script of `html`, as a policy names it."""
    text = html.decode("utf-8", errors="replace")
    return [
        base64.b64encode(hashlib.sha256(m.group(1).encode()).digest()).decode()
        for m in _INLINE_SCRIPT.finditer(text)
    ]


class SecurityHeaders:
    """Adds the headers above to every HTTP answer of `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path in DOCS_PATHS:
            await self._docs(scope, receive, send)
            return
        store = not path.startswith(NO_STORE_EXCEPT)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                _secure(headers, PAGE_POLICY, no_store=store)
            await send(message)

        await self.app(scope, receive, with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The API browser's page, held until it is whole (it is small) so that its inline
        scripts can be named by hash."""
        start: Message | None = None
        body = b""

        async def held(message: Message) -> None:
            nonlocal start, body
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body += message.get("body", b"")
            if message.get("more_body", False) and len(body) <= MAX_DOCS_PAGE:
                return
            hashes = inline_script_hashes(body) if len(body) <= MAX_DOCS_PAGE else []
            _secure(MutableHeaders(scope=start), docs_policy(hashes), no_store=True)
            await send(start)
            await send({**message, "body": body})
            start, body = None, b""

        await self.app(scope, receive, held)


def _secure(headers: MutableHeaders, policy: str, no_store: bool) -> None:
    headers["content-security-policy"] = policy
    for name, value in SECURITY_HEADERS.items():
        headers[name] = value
    if no_store:
        headers["cache-control"] = "no-store"
