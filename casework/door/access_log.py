"""The door's access log (issue 27): one line per request, for an operator.

Each line says the method, the route *template* (`/v1/cases/{case}`, never the path as sent:
no case numbers in a metric-like field, no query string), the status, the duration in
milliseconds and the principal the credential named (its directory id, or null before or
without authentication). Never a body, a header, a query string or a credential. JSON off a
terminal, like every casework log line (`casework.observability`).

A plain ASGI middleware around the whole app (`casework.door.serve.start_door` wraps it), so it
sees the answer even when a handler raised; the principal comes from `Door.person`, which calls
`note_principal` on the holder this middleware put in a context variable.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any

log = logging.getLogger("casework.door.access")

_principal: ContextVar[dict[str, str] | None] = ContextVar("casework_principal", default=None)


def note_principal(directory_id: str) -> None:
    """The request being served is by `directory_id` (after its credential was checked)."""
    holder = _principal.get()
    if holder is not None:
        holder["id"] = directory_id


class AccessLog:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answered: dict[str, int] = {"status": 500}
        holder: dict[str, str] = {}
        token = _principal.set(holder)

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            _principal.reset(token)
            route = getattr(scope.get("route"), "path", None) or "(no route)"
            duration = (time.perf_counter() - started) * 1000
            status = answered["status"]
            log.log(
                logging.WARNING if status >= 500 else logging.INFO,
                "%s %s %d %.0f ms principal=%s",
                scope.get("method", "?"),
                route,
                status,
                duration,
                holder.get("id", "-"),
                extra={
                    "method": scope.get("method"),
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration, 1),
                    "principal": holder.get("id"),
                },
            )
