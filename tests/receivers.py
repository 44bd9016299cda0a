"""Real local receivers for the relay's tests (issue 14): an HTTP server in a thread that
records what it is sent (a chat webhook, a pager, an integration's webhook), de-duplicates by
`Idempotency-Key` as a careful receiver does, and can be told to fail or to hang; and the
aiosmtpd sink `casework up` runs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from casework.notify.sink import received, start_sink


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Request] = field(default_factory=list)
    processed: dict[str, Request] = field(default_factory=dict)
    """By Idempotency-Key: what a de-duplicating receiver acted on, once per key."""
    fail_with: int | None = None
    """Answer every request with this status (500: a receiver that is down)."""
    hang: threading.Event | None = None
    """Hold the first request until this is set (a worker killed mid-delivery)."""
    got_one: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: Request) -> int:
        with self.lock:
            self.requests.append(request)
            first = len(self.requests) == 1
        self.got_one.set()
        if first and self.hang is not None:
            self.hang.wait(60)
            return 200
        if self.fail_with:
            return self.fail_with
        key = request.headers.get("idempotency-key", "")
        with self.lock:
            self.processed.setdefault(key, request)
        return 202


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = holder["r"].handle(Request(self.path, headers, body))
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder["r"]
    if holder["r"].hang is not None:
        holder["r"].hang.set()
    server.shutdown()
    server.server_close()


@dataclass
class Sink:
    folder: Path
    port: int

    def mails(self) -> list[dict[str, str]]:
        return received(self.folder)


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[Sink]:
    controller, port = start_sink(tmp_path / "mail")
    yield Sink(tmp_path / "mail", port)
    controller.stop()
