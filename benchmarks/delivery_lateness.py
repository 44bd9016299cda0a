"""Delivery lateness (issue 14): from a breach to its alert arriving at the Escalation Manager's
mailbox, through the relay, with N breaches.

    python benchmarks/delivery_lateness.py                 # 1,000 cases, SQLite dev server
    python benchmarks/delivery_lateness.py -n 300 --target 30

Opens N Gold P1 cases whose first-response target (`--target` seconds) is short and answers
none. Each breach raises an escalation whose alert goes to the manager on duty through the
outbox; the relay (the NotificationRelay workflow, woken by the activity that queues the row)
mails it to an aiosmtpd server in this process, which notes when each alert arrives (by its
X-Casework-Key). Printed, p50/p95/p99/max:

- breach -> mail: from the case's due time to the alert arriving (what a manager feels);
- breach -> queued: from the due time to the alert's outbox row (the engine's part: the
  breach timer, the escalation, the notify activity);
- queued -> mail: from the outbox row's creation to the alert arriving (the relay's part).

On a loaded machine, open fewer cases or give a longer target than the opening takes: breaches
that fall while cases are still being opened measure the opening's load too.

Every case also mails its contact (opened, assigned, escalated): those go through the same
relay and count in its load, not in the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from casework import search_attributes
from casework.client import open_case
from casework.codec import data_converter
from casework.domain.models import Channel, OpenCaseRequest, Priority
from casework.domain.sla import SlaPolicy
from casework.engine import load_directory
from casework.identity.keyring import fresh_ring
from casework.notify.config import RelayConfig
from casework.notify.contracts import relay_id
from casework.notify.waker import RelayWaker
from casework.settings import DEMO_DIRECTORY
from casework.store import Store
from worker import activities_for, build_worker

sys.path.insert(0, str(Path(__file__).parent))
from bench_tools import binary, percentile  # noqa: E402


class Arrivals:
    """aiosmtpd handler: when each mail arrived, by its outbox key."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        arrived = time.time()
        mail = message_from_bytes(envelope.original_content or envelope.content)
        key = str(mail.get("X-Casework-Key", ""))
        self.count += 1
        self.at.setdefault(key, arrived)
        return "250 OK"


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


async def main(count: int, target: int) -> None:
    from aiosmtpd.controller import Controller

    from casework.notify.sink import start_sink

    policy = SlaPolicy.model_validate(
        {
            "first_response_targets": {
                tier: {"P1": f"{target}s", "P2": "3600s", "P3": "7200s"}
                for tier in ("GOLD", "PLATINUM")
            }
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        probe, port = start_sink(Path(tmp) / "unused")  # a free port for the real handler
        probe.stop()
        arrivals = Arrivals()
        sink = Controller(arrivals, hostname="127.0.0.1", port=port)
        sink.start()
        ring = fresh_ring()
        db = Path(tmp) / "casework.db"
        store = Store(f"sqlite:///{db}", ring)
        store.directory.replace(load_directory(DEMO_DIRECTORY))
        env = await WorkflowEnvironment.start_local(
            data_converter=data_converter(ring, store.realms.lookup),
            dev_server_existing_path=binary("temporal"),
            search_attributes=search_attributes.ALL,
            dev_server_extra_args=["--db-filename", f"{tmp}/temporal.db"],
        )
        async with env:
            client: Client = env.client
            queue = f"relay-{uuid.uuid4().hex[:8]}"
            relay = RelayConfig(smtp_host="127.0.0.1", smtp_port=port)
            waker = RelayWaker(client, queue, asyncio.get_running_loop())
            async with build_worker(
                client,
                task_queue=queue,
                activities=activities_for(store, policy, relay=relay, waker=waker),
                ring=ring,
            ):
                await waker.wake_now()
                limit = asyncio.Semaphore(20)

                async def open_one(n: int) -> str:
                    request = OpenCaseRequest(
                        request_id=f"late-{n}-{uuid.uuid4().hex[:6]}",
                        channel=Channel.WEB,
                        account_id="globex",
                        contact_id="globex-carol",
                        product="FortiManager",
                        version="7.2.1",
                        priority=Priority.P1,
                        description=f"outage {n}",
                    )
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
                deadline = time.time() + (max(due.values()) - datetime.now(UTC)).total_seconds()
                deadline += 90
                while time.time() < deadline and not all(k in arrivals.at for k in keys):
                    await asyncio.sleep(0.2)
                with sqlite3.connect(db) as conn:
                    queued = {
                        k: datetime.fromisoformat(at).replace(tzinfo=UTC)
                        for k, at in conn.execute(
                            "SELECT idempotency_key, created_at FROM outbox "
                            "WHERE recipient_kind = 'escalation_manager'"
                        )
                    }
                    states = dict(
                        conn.execute("SELECT status, count(*) FROM outbox GROUP BY status")
                    )
                arrived = {k: arrivals.at[k] for k in keys if k in arrivals.at}
                report(
                    "breach -> mail",
                    [t - due[keys[k]].timestamp() for k, t in arrived.items()],
                    count,
                )
                report(
                    "breach -> queued",
                    [(queued[k] - due[c]).total_seconds() for k, c in keys.items() if k in queued],
                    count,
                )
                report(
                    "queued -> mail",
                    [t - queued[k].timestamp() for k, t in arrived.items() if k in queued],
                    count,
                )
                print(f"mails received: {arrivals.count}; outbox rows by status: {states}")
                await client.get_workflow_handle(relay_id(queue)).terminate()
        sink.stop()
        store.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=1000)
    parser.add_argument("--target", type=int, default=60, help="P1 target, seconds")
    args = parser.parse_args()
    asyncio.run(main(args.count, args.target))
