"""Many people writing to one case at once, against a real `casework up` (issue 24).

    python benchmarks/parallel_writers.py                         # 10, 20 and 50 writers x 20
    python benchmarks/parallel_writers.py --writers 50 --comments 20 --db postgres

Each writer is a client of the door's HTTP API (the customer's key) posting its comments one
after another, each under an Idempotency-Key of its own, and behaving as the API asks of a
client: a 429 or a 503 is sent again with the same key after Retry-After (at most RESENDS
times). Then the case is read back three ways: its database feed (what `show --page`, the
feed API and the page read), the notifications it queued for its owner (the outbox), and its
Temporal history (the accepted `comment` updates, decoded with the engine's key ring).

Printed per size: the answers by status code (every answer, resends included), then per
writer and in total: comments answered 2xx, lost (answered 2xx but missing), doubled (there
more than once), out of order (not in the order the writer sent them), and phantoms (there
without a 2xx answer: a 503 that the case took after all is a phantom only if the writer
gave up on it; its resend is answered with the first outcome). The target: 0 lost, 0
doubled, 0 out of order, 0 phantoms, in the feed, the outbox and the history alike.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_engines import running_engine  # noqa: E402

RESENDS = 30
"""How often a writer sends one comment again after a 429 or a 503 before giving up on it."""


@dataclass
class Writer:
    number: int
    sent: list[str] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    """Comments answered 2xx, in the order sent."""
    gave_up: list[str] = field(default_factory=list)


async def write(
    client: httpx.AsyncClient, case: str, writer: Writer, count: int, codes: collections.Counter
) -> None:
    for n in range(count):
        text = f"writer {writer.number} comment {n}"
        key = uuid.uuid4().hex
        writer.sent.append(text)
        for _ in range(RESENDS + 1):
            try:
                answer = await client.post(
                    f"/v1/cases/{case}/actions/comment",
                    json={"text": text},
                    headers={"Idempotency-Key": key},
                )
            except httpx.HTTPError as e:
                codes[type(e).__name__] += 1
                await asyncio.sleep(1.0)
                continue
            codes[answer.status_code] += 1
            if answer.is_success:
                writer.answered.append(text)
                break
            if answer.status_code not in (429, 503):
                break
            await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
        else:
            writer.gave_up.append(text)


async def feed_texts(client: httpx.AsyncClient, case: str) -> list[str]:
    """The case's comments in feed order, from the database (every page)."""
    texts: list[str] = []
    page, size = 1, 500
    first = (await client.get(f"/v1/cases/{case}/feed", params={"page_size": size})).json()
    pages = max(1, -(-first["total"] // size))
    for page in range(pages, 0, -1):  # page 1 is the newest
        got = (
            await client.get(f"/v1/cases/{case}/feed", params={"page": page, "page_size": size})
        ).json()
        texts += [e["text"] for e in got["entries"] if e["kind"] == "comment"]
    return texts


async def outbox_texts(client: httpx.AsyncClient, case: str) -> list[str]:
    rows = (await client.get("/v1/outbox", params={"case": case, "limit": 1000})).json()
    ordered = sorted(rows, key=lambda r: r["id"])
    return [r["body"] for r in ordered if r["subject"].startswith("Comment on")]


async def history_texts(engine: Any, case: str) -> list[str]:
    """The texts of the `comment` updates the case accepted, in history order, every run."""
    client = await engine.client()
    described = await client.get_workflow_handle(case).describe()
    run_id: str | None = described.raw_description.workflow_execution_info.first_run_id or None
    texts: list[str] = []
    while run_id is not None:
        handle, run_id = client.get_workflow_handle(case, run_id=run_id), None
        async for event in handle.fetch_history_events():
            continued = event.workflow_execution_continued_as_new_event_attributes
            if event.HasField("workflow_execution_continued_as_new_event_attributes"):
                run_id = continued.new_execution_run_id
            if not event.HasField("workflow_execution_update_accepted_event_attributes"):
                continue
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            if request.input.name != "comment":
                continue
            (payload,) = await client.data_converter.decode(request.input.args.payloads, [dict])
            texts.append(str(payload.get("text")))
    return texts


def judge(writers: list[Writer], found: list[str]) -> dict[str, int]:
    """Lost, doubled, out of order and phantoms of `found` (one of the three read-backs)."""
    counts = collections.Counter(found)
    position = {text: i for i, text in enumerate(found)}
    totals = collections.Counter()
    for w in writers:
        answered = set(w.answered)
        lost = [t for t in w.answered if counts[t] == 0]
        doubled = [t for t in w.sent if counts[t] > 1]
        phantoms = [t for t in w.sent if counts[t] and t not in answered and t in w.gave_up]
        seen = [position[t] for t in w.sent if t in position]
        out_of_order = sum(1 for a, b in zip(seen, seen[1:], strict=False) if b < a)
        totals.update(
            lost=len(lost), doubled=len(doubled), out_of_order=out_of_order, phantoms=len(phantoms)
        )
    return {k: totals[k] for k in ("lost", "doubled", "out_of_order", "phantoms")}


async def one_size(engine: Any, writers_count: int, comments: int) -> dict[str, Any]:
    key = engine.keys["acme-alice"]
    limits = httpx.Limits(max_connections=writers_count + 10)
    async with httpx.AsyncClient(
        base_url=engine.url,
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
        limits=limits,
    ) as client:
        opened = await client.post(
            "/v1/cases",
            json={
                "product": "FortiGate",
                "version": "7.4.3",
                "priority": "P3",
                "description": f"{writers_count} writers at once",
            },
        )
        opened.raise_for_status()
        case = opened.json()["case_id"]
        owner = opened.json().get("owner")
        owner_key = engine.keys.get(owner or "", engine.keys["cc-dana"])
        writers = [Writer(i) for i in range(writers_count)]
        codes: collections.Counter = collections.Counter()
        started = time.monotonic()
        await asyncio.gather(*(write(client, case, w, comments, codes) for w in writers))
        took = time.monotonic() - started
        answered = sum(len(w.answered) for w in writers)
        deadline = time.monotonic() + 60
        while True:  # the feed and the outbox are written by the case's activities
            feed = await feed_texts(client, case)
            if len(feed) >= answered or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)
        feed = await feed_texts(client, case)
    async with httpx.AsyncClient(
        base_url=engine.url, headers={"Authorization": f"Bearer {owner_key}"}, timeout=120
    ) as owner_client:
        outbox = await outbox_texts(owner_client, case)
    history = await history_texts(engine, case)
    return {
        "writers": writers_count,
        "comments_each": comments,
        "seconds": round(took, 1),
        "answers": {str(k): v for k, v in sorted(codes.items(), key=str)},
        "answered_2xx": answered,
        "gave_up": sum(len(w.gave_up) for w in writers),
        "feed": judge(writers, feed),
        "outbox": judge(writers, outbox),
        "history": judge(writers, history),
        "found": {"feed": len(feed), "outbox": len(outbox), "history": len(history)},
    }


def show(result: dict[str, Any]) -> None:
    print(
        f"{result['writers']:>3} writers x {result['comments_each']} comments in "
        f"{result['seconds']} s; answers {result['answers']}; 2xx {result['answered_2xx']}, "
        f"gave up {result['gave_up']}"
    )
    for where in ("feed", "outbox", "history"):
        r = result[where]
        print(
            f"    {where:<8} {result['found'][where]:>5} found  lost {r['lost']}  doubled "
            f"{r['doubled']}  out of order {r['out_of_order']}  phantoms {r['phantoms']}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[10, 20, 50])
    parser.add_argument("--comments", type=int, default=20)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    arguments = parser.parse_args()
    results = []
    with running_engine(database=arguments.db) as engine:
        print(f"casework up on {arguments.db}: {engine.url}")
        for count in arguments.writers:
            result = await one_size(engine, count, arguments.comments)
            show(result)
            results.append({"database": arguments.db, **result})
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
