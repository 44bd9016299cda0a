"""U5 from the outside: a canary in a restricted case's description, a comment and an attached
file is nowhere in what Temporal and casework keep (history, the database's bytes, the
attachment store, the worker's log), and comes back from the codec server only for a member of
the restricted queue or a contact of the account; a rotated key ring keeps old cases readable
and working.

The dev server of these tests (`dev_env`) keeps its state in memory and serves no Web UI, so
there is no temporal.db to read nor a UI HTTP API to ask here; what the UI's API returns is the
same history as `fetch_history` (encrypted payloads), and the codec server is what decodes it.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from casework.attachments import AttachmentStore
from casework.client import intake_id
from casework.codec import data_converter
from casework.codec.access import restricted_reader
from casework.codec.server import codec_router
from casework.domain.sla import SlaPolicy
from casework.identity.principal import Principal
from casework.store import Store
from tests.conftest import ENGINE_RING, SESSION_REALMS, Desk, eventually, signed
from tests.us_citizen_desk import APPROVER, CYBERDYNE
from worker import activities_for, build_worker

pytestmark = pytest.mark.timeout(120)

CANARY = f"CANARY-{uuid.uuid4().hex[:12]}"
KEYS = {"Bearer kara": "usc-kara", "Bearer judy": "cyberdyne-judy", "Bearer erin": "gsc-erin"}


def payloads_of(value: Any) -> list[dict[str, Any]]:
    """Every payload (as protobuf JSON) anywhere in a history's JSON."""
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        metadata = value.get("metadata")
        if isinstance(metadata, dict) and "encoding" in metadata:
            found.append({"metadata": metadata, "data": value.get("data", "")})
        for item in value.values():
            found += payloads_of(item)
    elif isinstance(value, list):
        for item in value:
            found += payloads_of(item)
    return found


def bytes_under(*paths: Path) -> bytes:
    return b"".join(
        p.read_bytes()
        for root in paths
        for p in ([root] if root.is_file() else root.rglob("*"))
        if p.is_file()
    )


async def restricted_case_with_canary(
    desk: Desk, store: Store, files: AttachmentStore
) -> tuple[str, str]:
    """A restricted case with the canary in its description, a comment, a refused comment
    and an attached file (name and bytes); its id and its intake's."""
    request = desk.request(**CYBERDYNE, description=f"tunnel drops: {CANARY}")
    opened = await desk.open_request(request)
    assert opened.case_id
    case_id = opened.case_id
    await desk.act(case_id, "comment", actor="cyberdyne-judy", text=f"more: {CANARY}")
    with pytest.raises(WorkflowUpdateFailedError):  # an outsider's comment is refused
        await desk.act(case_id, "comment", actor="gsc-erin", text=f"outsider: {CANARY}")
    log = files.root.parent / f"{CANARY}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"ike debug {CANARY}\n" * 1000)
    stored = files.put(log, restricted=True)
    log.unlink()
    await desk.act(
        case_id,
        "attach",
        actor="cyberdyne-judy",
        name=f"{CANARY}.log",
        kind="log",
        sha256=stored.sha256,
        size=stored.size,
    )
    view = await desk.until(case_id, lambda v: len(v.attachments) == 1, viewer=APPROVER)
    assert CANARY in view.description  # the engine itself reads it
    await eventually(lambda: store.feed.count(case_id) >= view.feed_total)
    await desk.settle(case_id)
    return case_id, intake_id(request.request_id)


async def test_a_restricted_case_leaves_no_canary_anywhere_temporal_or_casework_keeps_it(
    dev_desk: Desk, store: Store, files: AttachmentStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    case_id, intake = await restricted_case_with_canary(dev_desk, store, files)

    for workflow_id in (case_id, intake):
        history = (await dev_desk.case(workflow_id).fetch_history()).to_json()
        assert CANARY not in history, workflow_id
        assert "binary/encrypted" in history or "YmluYXJ5L2VuY3J5cHRlZA" in history
    database = Path(store.url.removeprefix("sqlite:///"))
    assert CANARY.encode() not in bytes_under(*database.parent.glob(database.name + "*"))
    assert CANARY.encode() not in bytes_under(files.root)
    assert CANARY not in caplog.text
    assert {"temporalio.activity", "temporalio.worker._workflow"} <= {
        r.name for r in caplog.records
    }
    # ... while the readers that hold the ring get it back
    assert any(CANARY in e["text"] for e in store.feed.page(case_id, limit=100))
    [attachment] = (await dev_desk.view(case_id, viewer=APPROVER)).attachments
    plain = io.BytesIO()
    files.copy_out(attachment.sha256, plain)
    assert CANARY.encode() in plain.getvalue()


async def test_the_codec_server_decodes_the_canary_only_for_members_and_contacts(
    dev_desk: Desk, store: Store, files: AttachmentStore
) -> None:
    case_id, _ = await restricted_case_with_canary(dev_desk, store, files)
    history = (await dev_desk.case(case_id).fetch_history()).to_json()
    body = {"payloads": payloads_of(json.loads(history))}
    assert body["payloads"] and len(body["payloads"]) <= 1000
    audit: list[tuple[Any, ...]] = []

    async def authenticate(header: str | None) -> Principal | None:
        found = KEYS.get(header or "")
        return Principal(id=found, via="api-key") if found else None

    app = FastAPI()
    app.include_router(
        codec_router(
            ENGINE_RING,
            authenticate=authenticate,
            may_read_restricted=restricted_reader(store),
            audit=lambda *row: audit.append(row),
        ),
        prefix="/codec",
    )
    transport = httpx.ASGITransport(app=app)
    seen = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://door") as client:
        for key in (None, "Bearer erin", "Bearer kara", "Bearer judy"):
            headers = {"X-Namespace": "default", **({"Authorization": key} if key else {})}
            response = await client.post("/codec/decode", json=body, headers=headers)
            assert response.status_code == 200, response.text
            seen[key] = sum(
                base64.b64decode(p.get("data", "")).decode("latin-1").count(CANARY)
                for p in response.json()["payloads"]
            )
    assert seen[None] == seen["Bearer erin"] == 0
    assert seen["Bearer kara"] > 0 and seen["Bearer judy"] > 0
    assert [(r[0], r[4]) for r in audit] == [
        ("gsc-erin", False),
        ("usc-kara", True),
        ("cyberdyne-judy", True),
    ]


async def test_a_rotated_ring_keeps_old_cases_readable_and_working(
    dev_env: WorkflowEnvironment, store: Store, policy: SlaPolicy
) -> None:
    """Keys rotate: a restricted and an ordinary case opened under the old keys are decoded
    and worked by a worker whose ring has new active keys; what is written from then on uses
    the new keys, and the history holds both."""
    rotated = ENGINE_RING.rotated("payload").rotated("restricted")
    old_client = dev_env.client
    new_client = await Client.connect(
        old_client.service_client.config.target_host,
        namespace=old_client.namespace,
        data_converter=data_converter(rotated, SESSION_REALMS),
    )
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    old = Desk(signed(old_client), task_queue, {})
    activities = activities_for(store, policy)
    async with build_worker(
        old_client, task_queue=task_queue, activities=activities, ring=ENGINE_RING
    ):
        restricted = await old.open(**CYBERDYNE, description=f"before rotation {CANARY}")
        ordinary = await old.open()
        for case_id in (restricted, ordinary):
            await old.settle(case_id)
    new = Desk(signed(new_client), task_queue, {})
    new.opened = [restricted, ordinary]
    async with build_worker(new_client, task_queue=task_queue, activities=activities, ring=rotated):
        for case_id, contact in ((restricted, "cyberdyne-judy"), (ordinary, "acme-alice")):
            await new.act(case_id, "comment", actor=contact, text="after rotation")
            view = await new.until(
                case_id, lambda v: any(e.text == "after rotation" for e in v.feed), viewer=APPROVER
            )
            assert view.description
            history = json.loads((await new.case(case_id).fetch_history()).to_json())
            used = {
                base64.b64decode(p["metadata"]["encryption-key-id"]).decode()
                for p in payloads_of(history)
                if "encryption-key-id" in p["metadata"]
            }
            purpose = "restricted" if case_id == restricted else "payload"
            assert {ENGINE_RING.active(purpose).id, rotated.active(purpose).id} <= used
        assert CANARY in (await new.view(restricted, APPROVER)).description
        await new.tidy_up()
