"""Logs that tell and never leak (issue 27), from every process of a deployment on one machine:
`casework up` (its worker, door and relay), a joined `casework worker --join` (a second relay),
and `casework api` (a second door), each logging JSON to a file of its own.

The run uses every secret a log could leak: API keys (good and forged ones, one in a query
string), a webhook subscription's URL, a chat incoming-webhook URL and a pager's URL and routing
key (each with a secret in its path; the chat and webhook receivers fail, so each failure,
retry and dead letter is logged), an SMTP password (the relay logs in), the database password
(in its URL), the key ring's keys, and a US Citizen Support case's text (U5). Afterwards each
process's log is searched for each of them: none is there. Each log still says what an operator
needs: its start-up configuration (secrets masked), the door's access lines (method, route
template, status, duration, principal), the relay's failures, retries and dead letters (row id,
channel, error kind). Run with `-s` for the grep's result per process.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from casework.settings import DEMO_DIRECTORY
from casework.yamlfiles import dump_text, load_data
from tests.postgres_cluster import PostgresCluster
from tests.test_up import CASEWORK, clean_env, free_port, free_port_pair
from tests.waiting import eventually_sync
from tests.worker_processes import SECONDS_POLICY

pytestmark = pytest.mark.timeout(300)

CHAT_SECRET = "chatpath-5ecret-81f2"
HOOK_SECRET = "hookpath-5ecret-77ab"
PAGE_SECRET = "pagepath-5ecret-c3d9"
ROUTING_KEY = "RK5ECRETROUTINGKEY0042"
SMTP_PASSWORD = "smtp-5ecret-pw-19d0"
DB_PASSWORD = "db-5ecret-pw-6e21"
QUERY_SECRET = "query-5ecret-0b7e"
CANARY = "CANARY-restricted-ops-4a1f"
WAIT = 90.0


@dataclass
class Receivers:
    """One HTTP server: /chat/* answers 500 (retried, then dead), /hook/* 503, /page/* 202."""

    port: int
    got: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    found = Receivers(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            found.got.append(self.path)
            status = 500 if "/chat/" in self.path else 503 if "/hook/" in self.path else 202
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    found.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield found
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_with_login(tmp_path: Path) -> Iterator[tuple[int, list[str]]]:
    """An SMTP server that wants a login (user `relay`, SMTP_PASSWORD), without TLS."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    logins: list[str] = []

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password.decode() == SMTP_PASSWORD
        logins.append("ok" if ok else "refused")
        return AuthResult(success=ok)

    class Accept:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            return "250 OK"

    port = free_port()
    controller = Controller(
        Accept(),
        hostname="127.0.0.1",
        port=port,
        authenticator=check,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    yield port, logins
    controller.stop()


class Process:
    def __init__(self, name: str, folder: Path, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.out, self.err = folder / f"{name}.out", folder / f"{name}.log"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                [CASEWORK, *args],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )

    def said(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        lines = [line for line in self.err.read_text().splitlines() if line.strip()]
        parsed = []
        for line in lines:
            try:
                parsed.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"{self.name}: not a JSON line: {line!r}") from None
        return parsed

    def wait_for(self, text: str) -> None:
        eventually_sync(
            lambda: text in self.said() or self.process.poll() is not None,
            WAIT,
            every=0.2,
            what=f"{self.name} to say {text!r}",
        )
        assert self.process.poll() is None, f"{self.name} stopped: {self.said()[-3000:]}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def directory_file(folder: Path, receivers: Receivers) -> Path:
    """The demo directory: Alice told in chat, both Escalation Managers paged."""
    data = load_data(DEMO_DIRECTORY.read_text(), str(DEMO_DIRECTORY))
    pager = {
        "kind": "pagerduty",
        "url": receivers.url(f"/page/{PAGE_SECRET}"),
        "routing_key": ROUTING_KEY,
    }
    for account in data["accounts"]:
        for contact in account["contacts"]:
            if contact["id"] == "acme-alice":
                contact["notify"] = {"email": True, "chat": receivers.url(f"/chat/{CHAT_SECRET}")}
    for manager in data["escalation_managers"]:
        manager["notify"] = {"email": True, "page": pager}
    path = folder / "directory.yaml"
    path.write_text(dump_text(data))
    return path


@pytest.mark.slow
def test_no_process_logs_a_secret_and_each_says_what_an_operator_needs(
    tmp_path: Path,
    postgres: PostgresCluster,
    receivers: Receivers,
    smtp_with_login: tuple[int, list[str]],
) -> None:
    smtp_port, logins = smtp_with_login
    database = postgres.new_database()
    db_url = database.replace("postgres@", f"postgres:{DB_PASSWORD}@")  # trust: not checked
    state = tmp_path / "state"
    policy = tmp_path / "policy.yaml"
    policy.write_text(SECONDS_POLICY)
    api_port, door_port = free_port(), free_port()
    smtp = {
        "CASEWORK_SMTP_HOST": "127.0.0.1",
        "CASEWORK_SMTP_PORT": str(smtp_port),
        "CASEWORK_SMTP_USER": "relay",
        "CASEWORK_SMTP_PASSWORD": SMTP_PASSWORD,
        "CASEWORK_RELAY_MAX_ATTEMPTS": "2",
        "CASEWORK_RELAY_BACKOFF": "0.2",
    }
    base = clean_env(CASEWORK_LOG_FORMAT="json", **smtp)
    processes = [
        Process(
            "casework up",
            tmp_path,
            ["up", "--state-dir", str(state), "--database", db_url, "--policy", str(policy)]
            + ["--directory", str(directory_file(tmp_path, receivers))]
            + ["--port", str(free_port()), "--ui-port", str(free_port())]
            + ["--api-port", str(api_port), "--metrics-port", str(free_port_pair())],
            base,
        )
    ]
    try:
        processes[0].wait_for("Ctrl+C")
        joined_env = {**base, "CASEWORK_STATE_DIR": str(state)}
        processes.append(
            Process("casework worker --join", tmp_path, ["worker", "--join"], joined_env)
        )
        processes.append(
            Process("casework api", tmp_path, ["api", "--port", str(door_port)], joined_env)
        )
        processes[1].wait_for("casework worker on task queue")
        processes[2].wait_for("Ctrl+C stops it")
        secrets = run_the_week(state, api_port, door_port, receivers, logins)
    finally:
        for process in reversed(processes):
            process.stop()
    secrets |= {
        "database password": DB_PASSWORD,
        "SMTP password": SMTP_PASSWORD,
        "chat URL": CHAT_SECRET,
        "webhook URL": HOOK_SECRET,
        "page URL": PAGE_SECRET,
        "page routing key": ROUTING_KEY,
        "API key in a query": QUERY_SECRET,
        "restricted case text": CANARY,
        **ring_secrets(state),
    }
    print()
    for process in processes:
        said = process.said()
        leaked = sorted(name for name, secret in secrets.items() if secret in said)
        print(
            f"{process.name:<24} {len(said.splitlines()):>5} lines; "
            f"{len(secrets)} secrets searched, found: {leaked or 'none'}"
        )
        assert not leaked, f"{process.name} logged {leaked}"
    says_what_an_operator_needs(processes)


def run_the_week(
    state: Path, api_port: int, door_port: int, receivers: Receivers, logins: list[str]
) -> dict[str, str]:
    """A breach that pages, a restricted case, a webhook that fails, requests through both
    doors with good and bad keys. Returns the API keys used (secrets to look for)."""
    profiles = tomllib.loads((state / "profiles.toml").read_text())["profiles"]
    alice, ivan = profiles["acme-alice"]["key"], profiles["cyberdyne-ivan"]["key"]
    forged = alice[:-6] + "AAAAAA"
    hooked = subprocess.run(
        [CASEWORK, "webhooks", "add", receivers.url(f"/hook/{HOOK_SECRET}")],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(CASEWORK_STATE_DIR=str(state)),
    )
    assert hooked.returncode == 0, hooked.stderr
    engine = httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=60)
    door = httpx.Client(base_url=f"http://127.0.0.1:{door_port}", timeout=60)

    def as_(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    opened = engine.post(
        "/v1/cases",
        headers=as_(alice),
        json={"product": "FortiGate", "version": "7.4.3", "priority": "P1", "description": "HA"},
    )
    assert opened.status_code == 200, opened.text
    case_id = opened.json()["case_id"]
    restricted = door.post(
        "/v1/cases",
        headers=as_(ivan),
        json={"product": "FortiGate", "version": "7.4.3", "priority": "P2", "description": CANARY},
    )
    assert restricted.status_code == 200, restricted.text
    assert door.get(f"/v1/cases?token={QUERY_SECRET}", headers=as_(alice)).status_code == 200
    assert door.get(f"/v1/cases/{case_id}", headers=as_(forged)).status_code == 401
    assert engine.get(f"/v1/cases/{case_id}", headers=as_(alice)).status_code == 200
    assert door.get("/readyz").status_code == 200
    eventually_sync(
        lambda: any(p.startswith("/page/") for p in receivers.got),
        WAIT,
        every=0.2,
        what="the breach's page",
    )
    eventually_sync(
        lambda: "ok" in logins, WAIT, every=0.2, what="a mail sent with the SMTP password"
    )

    def dead_letters() -> bool:
        listed = subprocess.run(
            [CASEWORK, "outbox", "--failed", "--output", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(CASEWORK_STATE_DIR=str(state)),
        )
        rows = json.loads(listed.stdout or "[]")
        kinds = {r["recipient_kind"] for r in rows}
        return {"webhook", "contact"} <= kinds

    eventually_sync(dead_letters, WAIT, every=0.2, what="the chat's and the webhook's dead letters")
    return {"API key (acme-alice)": alice, "API key (ivan)": ivan, "forged API key": forged}


def ring_secrets(state: Path) -> dict[str, str]:
    ring = json.loads((state / "keyring.json").read_text())
    found = {}
    for key in ring["keys"]:
        secret = key["secret"]
        found[f"key ring {key['id']}"] = secret
        found[f"key ring {key['id']} (hex)"] = base64.b64decode(secret).hex()
    return found


def says_what_an_operator_needs(processes: list[Process]) -> None:
    up, joined, api = processes
    every = {p.name: p.log_lines() for p in processes}
    for name, lines in every.items():
        starting = [line for line in lines if line["logger"] == "casework.startup"]
        assert starting, f"{name} logged no start-up line"
        config = starting[0]["config"]
        assert config["database"].count("***") == 1, config["database"]
        if config.get("relay"):
            assert config["relay"]["smtp_password"] == "set"
            assert set(config["relay"]["lanes"]) == {"email", "chat", "page", "webhook"}
    for name in ("casework up", "casework api"):
        access = [line for line in every[name] if line["logger"] == "casework.door.access"]
        assert access, f"{name} logged no access line"
        assert all(
            {"method", "route", "status", "duration_ms", "principal"} <= set(a) for a in access
        )
        routes = {(a["method"], a["route"], a["status"], a["principal"]) for a in access}
        assert (
            "POST",
            "/v1/cases",
            200,
            "acme-alice" if name == "casework up" else "cyberdyne-ivan",
        ) in routes, routes
    api_routes = {
        (a["route"], a["status"], a["principal"])
        for a in every["casework api"]
        if a["logger"] == "casework.door.access"
    }
    assert ("/v1/cases/{case}", 401, None) in api_routes, api_routes
    relay = [
        line for lines in every.values() for line in lines if line["logger"] == "casework.relay"
    ]
    kinds = {(line["channel"], line["error_kind"], line["level"]) for line in relay}
    assert ("chat", "http_500", "WARNING") in kinds, kinds  # a failure, retried
    assert ("chat", "http_500", "ERROR") in kinds, kinds  # then dead
    assert any(c == "webhook" and k == "http_503" for c, k, _ in kinds), kinds
    assert all(isinstance(line["row_id"], int) for line in relay), relay
