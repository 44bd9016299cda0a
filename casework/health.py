"""Liveness and readiness of casework's processes (issue 27), for a load balancer, an
orchestrator (Kubernetes probes) or a process supervisor.

- liveness, `/livez`: 200 while the process's event loop turns (it ticked within
  LIVE_WITHIN seconds); on 503 the supervisor should restart the process;
- readiness, `/readyz`: 200 while Temporal answers (GetSystemInfo) and the database answers
  (`SELECT 1`), each within PROBE_TIMEOUT, and (a worker) it runs, polling its task queue; on
  503 the load balancer stops sending it work until it answers 200 again.

Liveness never depends on Temporal or the database: a process whose database is down is not
helped by a restart, only taken out of rotation. Both answer a small JSON body saying which check
failed and why, never a secret (the database URL is not in it).

The door answers both on its own port (`casework.door.health`); a worker on `--health-port`
(`serve_worker_health`: `serve_health`, a thread of the worker's process, so a wedged event loop
is seen as one).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from temporalio.client import Client

    from casework.store import Store

PROBE_TIMEOUT = 3.0
"""Seconds Temporal and the database each get to answer a readiness probe."""
LIVE_WITHIN = 30.0
"""Seconds without an event-loop tick after which the process is not live."""
TICK_EVERY = 1.0
ANSWER_TIMEOUT = PROBE_TIMEOUT * 2 + 1
"""Seconds the worker's health thread waits for the event loop's readiness answer."""
log = logging.getLogger(__name__)


class Health:
    """The checks of one process: its Temporal client, its database, and (a worker) whether it
    runs. One probe at a time: callers arriving meanwhile share its answer."""

    def __init__(
        self,
        client: Client,
        store: Store,
        *,
        running: Callable[[], bool] | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.running = running
        self.last_tick = time.monotonic()
        self._probe: asyncio.Future[tuple[bool, dict[str, str]]] | None = None
        self._ticker: asyncio.Task[None] | None = None

    def start_ticking(self) -> None:
        """Liveness: a task of the event loop notes each turn."""
        self._ticker = asyncio.ensure_future(self._tick())

    def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()

    async def _tick(self) -> None:
        while True:
            self.last_tick = time.monotonic()
            await asyncio.sleep(TICK_EVERY)

    def live(self) -> tuple[bool, dict[str, str]]:
        stale = time.monotonic() - self.last_tick
        if self._ticker is not None and stale > LIVE_WITHIN:
            return False, {"event_loop": f"no turn for {stale:.0f} s"}
        return True, {"event_loop": "ok"}

    async def ready(self) -> tuple[bool, dict[str, str]]:
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(self._ready())
        return await asyncio.shield(self._probe)

    async def _ready(self) -> tuple[bool, dict[str, str]]:
        temporal, database = await asyncio.gather(self._temporal(), self._database())
        checks = {"temporal": temporal, "database": database}
        if self.running is not None:
            checks["worker"] = "ok" if self.running() else "not running"
        return all(v == "ok" for v in checks.values()), checks

    async def _temporal(self) -> str:
        from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

        try:
            await asyncio.wait_for(
                self.client.workflow_service.get_system_info(
                    GetSystemInfoRequest(), timeout=timedelta(seconds=PROBE_TIMEOUT)
                ),
                PROBE_TIMEOUT + 0.5,
            )
        except TimeoutError:
            return f"no answer within {PROBE_TIMEOUT:.0f} s"
        except Exception as e:
            return f"unreachable ({type(e).__name__})"
        return "ok"

    async def _database(self) -> str:
        try:
            await asyncio.wait_for(asyncio.to_thread(self._select_one), PROBE_TIMEOUT)
        except TimeoutError:
            return f"no answer within {PROBE_TIMEOUT:.0f} s"
        except Exception as e:
            return f"unreachable ({type(e).__name__})"
        return "ok"

    def _select_one(self) -> None:
        with self.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))


def body(ok: bool, checks: dict[str, str]) -> bytes:
    return json.dumps({"status": "ok" if ok else "failing", "checks": checks}).encode()


def serve_health(
    health: Health, loop: asyncio.AbstractEventLoop, port: int, host: str
) -> ThreadingHTTPServer:
    """`/livez` and `/readyz` on host:port, answered by a thread of this process (readiness
    asks the event loop, liveness does not). Returns the server (`.shutdown()` stops it)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server API)
            path = self.path.split("?", 1)[0]
            if path == "/livez":
                ok, checks = health.live()
            elif path == "/readyz":
                ok, checks = _ready_from_thread(health, loop)
            else:
                self._answer(404, b'{"status": "no such check: /livez or /readyz"}')
                return
            self._answer(200 if ok else 503, body(ok, checks))

        def _answer(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # a probe every few seconds is not news

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="casework-health", daemon=True).start()
    return server


def serve_worker_health(
    client: Client, store: Store, running: Callable[[], bool], port: int, host: str
) -> Health:
    """A worker's /livez and /readyz on host:port (`serve_health`), ready while `running()`
    says the worker runs, its liveness ticking from now on; said in the log. Called on the
    worker's event loop, which readiness asks."""
    health = Health(client, store, running=running)
    health.start_ticking()
    serve_health(health, asyncio.get_running_loop(), port, host)
    logging.info("health on http://%s:%d/livez and /readyz", host, port)
    return health


def _ready_from_thread(
    health: Health, loop: asyncio.AbstractEventLoop
) -> tuple[bool, dict[str, str]]:
    future = asyncio.run_coroutine_threadsafe(health.ready(), loop)
    try:
        return future.result(ANSWER_TIMEOUT)
    except Exception:
        with contextlib.suppress(Exception):
            future.cancel()
        return False, {"event_loop": f"no answer within {ANSWER_TIMEOUT:.0f} s"}
