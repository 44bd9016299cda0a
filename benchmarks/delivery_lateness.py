"""Delivery lateness (issues 14 and 27): from a breach to its alert arriving at the Escalation
Manager, by mail and by page, through the relay, with N breaches; with or without an
integration's webhook receiver that takes seconds to answer.

    python benchmarks/delivery_lateness.py                        # 1,000 cases, SQLite dev server
    python benchmarks/delivery_lateness.py -n 300 --target 30
    python benchmarks/delivery_lateness.py -n 100 --slow-webhook 14   # a 14 s receiver
    python benchmarks/delivery_lateness.py -n 100 --compare           # without, then with it

Opens N Gold P1 cases whose first-response target (`--target` seconds) is short and answers
none. Each breach raises an escalation whose alert goes to the manager on duty through the
outbox; the relay (the NotificationRelay workflow, woken by the activity that queues the row)
mails it to an aiosmtpd server in this process and pages them at an HTTP receiver in this
process (a generic paging webhook), which note when each alert arrives (by its outbox key:
X-Casework-Key, Idempotency-Key). Printed, p50/p95/p99/max:

- breach -> mail / breach -> page: from the case's due time to the alert arriving (what a
  manager feels);
- breach -> queued: from the due time to the alert's outbox row being seen in the database
  (looked for every 50 ms: the engine's part: the breach timer, the escalation, the write);
- queued -> mail: from then to the mail arriving (the relay's part).

`--slow-webhook S`: an integration subscribes to every case event at a receiver that answers
after S seconds (issue 27: with one round for every channel, a manager's alert waited for it;
with a lane per channel, it does not). Every case also mails its contact (opened, assigned,
escalated) and, with the slow receiver, posts each event to it: those go through the same
relay and count in its load, not in the figures.

On a loaded machine, open fewer cases or give a longer target than the opening takes: breaches
that fall while cases are still being opened measure the opening's load too.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from temporalio.client import Client

sys.path.insert(0, str(Path(__file__).parent))
from bench_engines import local_engine  # noqa: E402
from bench_tools import outage_request, percentile  # noqa: E402

from casework.client import open_case  # noqa: E402
from casework.domain.directory import Directory  # noqa: E402
from casework.domain.sla import policy_with  # noqa: E402
from casework.notify.config import RelayConfig  # noqa: E402
from casework.notify.contracts import relay_id  # noqa: E402
from casework.notify.subscriptions import subscription  # noqa: E402
from casework.notify.waker import RelayWaker  # noqa: E402
from casework.settings import DEMO_DIRECTORY  # noqa: E402
from casework.yamlfiles import load_data  # noqa: E402


class Arrivals:
    """aiosmtpd handler and HTTP receiver alike: when each message arrived, by its outbox key."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.count = 0
        self.lock = threading.Lock()

    def arrived(self, key: str) -> None:
        with self.lock:
            self.count += 1
            self.at.setdefault(key, time.time())

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        mail = message_from_bytes(envelope.original_content or envelope.content)
        self.arrived(str(mail.get("X-Casework-Key", "")))
        return "250 OK"


def http_receiver(arrivals: Arrivals, delay: float) -> tuple[ThreadingHTTPServer, str]:
    """An HTTP receiver answering 200 after `delay` seconds; arrivals noted on receipt."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            arrivals.arrived(self.headers.get("Idempotency-Key", ""))
            if delay:
                time.sleep(delay)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def paged_directory(pager_url: str) -> Directory:
    """The demo directory, with both managers of the rota paged at `pager_url` too."""
    data = load_data(DEMO_DIRECTORY.read_text(), str(DEMO_DIRECTORY))
    for manager in data["escalation_managers"]:
        manager["notify"] = {"email": True, "page": {"kind": "webhook", "url": pager_url}}
    return Directory.model_validate(data)


def report(name: str, lateness: list[float], count: int) -> None:
    if not lateness:
        print(f"{name:<17} none arrived")
        return
    print(
        f"{name:<17} {len(lateness)}/{count}: "
        + ", ".join(f"p{p} {percentile(lateness, p):.2f} s" for p in (50, 95, 99))
        + f", max {max(lateness):.2f} s",
        flush=True,
    )


async def main(count: int, target: int, slow_webhook: float) -> None:
    from aiosmtpd.controller import Controller

    from casework.notify.sink import start_sink

    policy = policy_with(every_tier={"P1": f"{target}s", "P2": "3600s", "P3": "7200s"})
    print(
        f"--- {count} breaches, "
        + (f"a webhook receiver answering in {slow_webhook:g} s" if slow_webhook else "no webhook")
    )
    with tempfile.TemporaryDirectory() as tmp:
        probe, port = start_sink(Path(tmp) / "unused")  # a free port for the real handler
        probe.stop()
        mails, pages, hooks = Arrivals(), Arrivals(), Arrivals()
        sink = Controller(mails, hostname="127.0.0.1", port=port)
        sink.start()
        pager, pager_url = http_receiver(pages, 0)
        slow, slow_url = http_receiver(hooks, slow_webhook)
        async with local_engine("sqlite", directory=paged_directory(pager_url)) as engine:
            if slow_webhook:  # every event: opened, breached, escalated, ...
                events = subscription(slow_url, ["all"]).events
                engine.store.webhooks.add(slow_url, events, "benchmark")
            client: Client = engine.client
            queue = f"relay-{uuid.uuid4().hex[:8]}"
            relay = RelayConfig(smtp_host="127.0.0.1", smtp_port=port)
            waker = RelayWaker(client, queue, asyncio.get_running_loop())
            activities = engine.activities(policy, relay=relay, waker=waker)
            async with engine.worker(queue, activities):
                await waker.wake_now()
                await measure(client, queue, engine.db_path, count, mails, pages, hooks)
                await client.get_workflow_handle(relay_id(queue)).terminate()
        for server in (pager, slow):
            server.shutdown()
        sink.stop()


async def measure(
    client: Client,
    queue: str,
    db: Path,
    count: int,
    mails: Arrivals,
    pages: Arrivals,
    hooks: Arrivals,
) -> None:
    limit = asyncio.Semaphore(20)

    async def open_one(n: int) -> str:
        request = outage_request(n, "late")
        async with limit:
            result = await open_case(client, request, task_queue=queue)
        assert result.case_id
        return result.case_id

    started = time.monotonic()
    cases = await asyncio.gather(*(open_one(n) for n in range(count)))
    print(f"opened {count} cases in {time.monotonic() - started:.0f} s", flush=True)
    keys = {f"{c}-E1:step-0": c for c in cases}
    due: dict[str, datetime] = {}
    while len(due) < count:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT case_id, due_at FROM case_facts").fetchall()
        due = {c: datetime.fromisoformat(d).replace(tzinfo=UTC) for c, d in rows}
        await asyncio.sleep(0.2)
    deadline = time.time() + (max(due.values()) - datetime.now(UTC)).total_seconds() + 90

    def all_arrived() -> bool:
        return all(k in mails.at and k in pages.at for k in keys)

    seen: dict[str, float] = {}  # when each alert's row was first seen in the database
    with sqlite3.connect(db) as conn:
        while time.time() < deadline and not all_arrived():
            now = time.time()
            for (key,) in conn.execute(
                "SELECT idempotency_key FROM outbox WHERE recipient_kind = 'escalation_manager'"
            ):
                seen.setdefault(key, now)
            await asyncio.sleep(0.05)
        states = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status"))
    for name, arrivals in (("breach -> mail", mails), ("breach -> page", pages)):
        arrived = {k: arrivals.at[k] for k in keys if k in arrivals.at}
        report(name, [t - due[keys[k]].timestamp() for k, t in arrived.items()], count)
    report(
        "breach -> queued",
        [seen[k] - due[c].timestamp() for k, c in keys.items() if k in seen],
        count,
    )
    arrived = {k: mails.at[k] for k in keys if k in mails.at}
    report("queued -> mail", [t - seen[k] for k, t in arrived.items() if k in seen], count)
    print(
        f"mails received: {mails.count}; pages: {pages.count}; webhook posts received: "
        f"{hooks.count}; outbox rows by status: {states}",
        flush=True,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=1000)
    parser.add_argument("--target", type=int, default=60, help="P1 target, seconds")
    parser.add_argument(
        "--slow-webhook",
        type=float,
        default=0.0,
        help="seconds an integration's webhook receiver takes to answer (0: no integration)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="run without the slow receiver, then with it (--slow-webhook, default 14 s)",
    )
    args = parser.parse_args()
    if not 1 <= args.count <= 100_000 or not 1 <= args.target <= 86_400:
        parser.error("--count from 1 to 100000, --target from 1 to 86400 seconds")
    if not 0 <= args.slow_webhook <= 60:
        parser.error("--slow-webhook from 0 to 60 seconds (the relay's timeout is 15 s)")
    if args.compare:
        asyncio.run(main(args.count, args.target, 0.0))
        asyncio.run(main(args.count, args.target, args.slow_webhook or 14.0))
    else:
        asyncio.run(main(args.count, args.target, args.slow_webhook))
