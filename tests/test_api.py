"""The Case Center API (issue 13) through a real `casework api` process against the dev server,
with the test's worker: every Case Center action, every refusal code as an RFC 9457 problem
with the sentence the CLI prints, idempotent open on `Idempotency-Key`, feed paging, file
upload limits and downloads, U5 on every answer, and the OpenAPI document checked in."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from casework.store import Store
from tests.api_server import ApiServer, api_server_beside, client_for
from tests.conftest import Desk, eventually

pytestmark = pytest.mark.timeout(240)

OPENAPI = Path(__file__).parent.parent / "docs" / "openapi.json"
HA_PROBLEM = {
    "product": "FortiGate",
    "version": "7.4.3",
    "priority": "P2",
    "description": "HA cluster fails over every few minutes",
}


@pytest.fixture
def server(
    store: Store, dev_env: WorkflowEnvironment, dev_desk: Desk, tmp_path: Path
) -> Iterator[ApiServer]:
    upload = {"CASEWORK_MAX_UPLOAD": "4KB"}
    with api_server_beside(store, dev_env, dev_desk, tmp_path, extra_env=upload) as running:
        yield running


class People:
    """HTTP clients of the server, one per person, each with their own key."""

    def __init__(self, store: Store, server: ApiServer) -> None:
        self.store, self.server = store, server
        self.clients: dict[str, httpx.AsyncClient] = {}

    def __getitem__(self, person: str) -> httpx.AsyncClient:
        if person not in self.clients:
            self.clients[person] = client_for(self.store, self.server, person)
        return self.clients[person]

    async def close(self) -> None:
        for c in self.clients.values():
            await c.aclose()


@pytest.fixture
async def people(store: Store, server: ApiServer) -> AsyncIterator[People]:
    found = People(store, server)
    yield found
    await found.close()


def problem(answer: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    """The answer is an RFC 9457 problem of `status` whose detail says `words`."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    body = answer.json()
    assert {"type", "title", "status", "detail"} <= set(body), body
    assert body["status"] == status and body["type"].startswith("/problems/")
    for word in words:
        assert word in body["detail"], (word, body["detail"])
    return body


async def until(people: People, who: str, case_id: str, check: Any, what: str) -> dict[str, Any]:
    """The case as `who` sees it through the API, once `check(view)` holds."""
    view: dict[str, Any] = {}

    async def seen() -> bool:
        nonlocal view
        answer = await people[who].get(f"/v1/cases/{case_id}")
        assert answer.status_code == 200, answer.text
        view = answer.json()
        return bool(check(view))

    await eventually(
        seen, every=0.15, what=lambda: f"{case_id} to get {what}: state {view.get('state')}"
    )
    return view


async def act(people: People, who: str, case_id: str, action: str, **fields: Any) -> dict[str, Any]:
    answer = await people[who].post(f"/v1/cases/{case_id}/actions/{action}", json=fields)
    assert answer.status_code == 200, f"{who} {action}: {answer.text}"
    return dict(answer.json())


def owner_of(view: dict[str, Any]) -> str | None:
    return view["owner"]["engineer_id"] if view.get("owner") else None


async def test_a_case_worked_through_every_action_of_the_api(
    people: People, dev_desk: Desk
) -> None:
    key = f"portal-{uuid.uuid4().hex[:10]}"
    opened = await people["acme-alice"].post(
        "/v1/cases", json=HA_PROBLEM, headers={"Idempotency-Key": key}
    )
    assert opened.status_code == 200, opened.text
    case_id = opened.json()["case_id"]
    dev_desk.opened.append(case_id)
    assert opened.json()["created"] is True

    again = await people["acme-alice"].post(
        "/v1/cases", json=HA_PROBLEM, headers={"Idempotency-Key": key}
    )
    assert again.status_code == 200 and again.json() == {**opened.json(), "created": False}
    other = await people["acme-alice"].post(
        "/v1/cases", json={**HA_PROBLEM, "priority": "P1"}, headers={"Idempotency-Key": key}
    )
    body = problem(other, 422, key, "differs in priority", "new key")
    assert body["fields"] == ["priority"]

    view = await until(people, "acme-alice", case_id, owner_of, "an owner")
    l0 = owner_of(view)
    assert view["allowed_actions"], view
    await act(people, "acme-alice", case_id, "comment", text="Both units run 7.4.3")
    await act(people, l0, case_id, "respond", text="Looking at it now")
    await act(people, l0, case_id, "request_info", items=["logs", "configuration"], text="HA log")
    waiting = await until(
        people, "acme-alice", case_id, lambda v: v["state"] == "waiting_on_customer", "a wait"
    )
    assert waiting["waiting_for"] == ["logs", "configuration"]
    await act(people, "acme-alice", case_id, "provide_info", text="Uploaded to the portal")
    await act(people, "acme-alice", case_id, "change_priority", priority="P1", reason="worse")
    now = await act(people, "acme-alice", case_id, "escalate_now", reason="lack_of_progress")
    manager = now["escalation_manager"].split(" ")[0]
    await act(people, manager, case_id, "acknowledge_escalation", note="on it")
    await act(people, manager, case_id, "de_escalate", note="new engineer on it")
    await act(people, l0, case_id, "escalate", reason="Needs HA expertise")
    view = await until(
        people, "acme-alice", case_id, lambda v: v["level"] == "L1" and owner_of(v), "an L1 owner"
    )
    l1 = owner_of(view)
    # U6, A3 and E2 actions are there too; on this case the engine refuses them, saying why
    refused = await people[l1].post(
        f"/v1/cases/{case_id}/actions/request_log_approval", json={"logs": ["att-1"]}
    )
    problem(refused, 409, f"refused on {case_id}", "US Citizen Support")
    refused = await people[l1].post(
        f"/v1/cases/{case_id}/actions/file_problem_report", json={"summary": "HA bug"}
    )
    problem(refused, 409, f"refused on {case_id}", "L3")
    for action in ("approve_logs", "decline_logs", "accept"):
        answer = await people["acme-alice"].post(f"/v1/cases/{case_id}/actions/{action}", json={})
        problem(answer, 409, f"{action} refused on {case_id}")
    await act(people, l1, case_id, "resolve", resolution="Fixed in 7.4.4")
    await act(people, "acme-alice", case_id, "reopen", reason="Still fails over")
    await act(people, l1, case_id, "resolve", resolution="Heartbeat on a dedicated port")
    closed = await act(people, "acme-alice", case_id, "close", reason="Stable for a day")
    assert closed["state"] == "closed"

    # the whole feed in pages, newest first, each page in the order things happened
    first = (await people["acme-alice"].get(f"/v1/cases/{case_id}/feed?page_size=5")).json()
    second = await people["acme-alice"].get(f"/v1/cases/{case_id}/feed?page=2&page_size=5")
    assert second.status_code == 200, second.text
    assert first["total"] > 10 and len(first["entries"]) == 5
    seqs = [e["seq"] for e in second.json()["entries"]] + [e["seq"] for e in first["entries"]]
    assert seqs == list(range(first["total"] - 10, first["total"]))
    kinds = {e["kind"] for e in first["entries"]}
    assert "close" in kinds or "closed" in kinds, kinds


async def test_every_refusal_is_a_problem_with_the_clis_sentence(
    people: People, dev_desk: Desk, server: ApiServer
) -> None:
    case_id = await dev_desk.open(account_id="acme", contact_id="acme-alice")
    alice = people["acme-alice"]
    async with httpx.AsyncClient(base_url=server.url) as nobody:
        problem(await nobody.get("/v1/whoami"), 401, "Authorization: Bearer")
        forged = await nobody.get("/v1/whoami", headers={"Authorization": "Bearer cw_nonsense"})
        problem(forged, 401, "malformed")
    problem(await people["globex-carol"].get(f"/v1/cases/{case_id}"), 403, "not of acme")
    problem(
        await alice.post("/v1/cases", json={**HA_PROBLEM, "account_id": "globex"}),
        403,
        "own account only",
    )
    problem(await alice.get("/v1/cases/case-999999"), 404, "there is no case case-999999")
    problem(await alice.post(f"/v1/cases/{case_id}/actions/fly", json={}), 404, "no action")
    problem(await alice.get("/v1/nothing-here"), 404, "/docs")
    problem(await alice.get("/v1/cases/abc"), 400, "not a case number")
    problem(
        await alice.post(f"/v1/cases/{case_id}/actions/comment", content=b"{not json"),
        422,
        "not JSON",
    )
    bad = await alice.post("/v1/cases", json={**HA_PROBLEM, "priority": "P7"})
    assert problem(bad, 422, "priority must be P1, P2 or P3")["fields"] == ["priority"]
    empty = await alice.post(f"/v1/cases/{case_id}/actions/comment", json={"text": ""})
    assert problem(empty, 422, "comment not sent", "text")["fields"] == ["text"]
    claimed = await alice.post(
        f"/v1/cases/{case_id}/actions/comment", json={"text": "hi", "actor": "usc-kara"}
    )
    assert problem(claimed, 422, "takes who acts")["fields"] == ["actor"]
    problem(
        await alice.post("/v1/cases", json=HA_PROBLEM, headers={"Idempotency-Key": "a b"}),
        422,
        "Idempotency-Key",
    )
    problem(await alice.get(f"/v1/cases/{case_id}/feed?page=0"), 422, "page")
    raced = f"race-{uuid.uuid4().hex[:8]}"  # two requests at once on one key: one case
    answers = await asyncio.gather(
        *(
            alice.post(
                "/v1/cases", json={**HA_PROBLEM, "priority": p}, headers={"Idempotency-Key": raced}
            )
            for p in ("P2", "P3")
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 422], [a.text for a in answers]
    dev_desk.opened += [a.json()["case_id"] for a in answers if a.status_code == 200]
    await dev_desk.until(case_id, lambda v: v.owner is not None)
    # the CLI's sentence: `respond refused on case-...: only the engineer who owns the case`
    refused = await people["gsc-farid"].post(
        f"/v1/cases/{case_id}/actions/respond", json={"text": "I'll take it"}
    )
    problem(refused, 409, f"respond refused on {case_id}", "only the engineer who owns the case")
    others = await people["gsc-farid"].post(
        f"/v1/cases/{case_id}/actions/comment", json={"text": "x", "on_behalf_of": "acme-bob"}
    )
    problem(others, 403, "only Customer Care")


async def test_uploads_are_bounded_downloads_are_the_file_and_u5_withholds_them(
    people: People, dev_desk: Desk, server: ApiServer, tmp_path: Path
) -> None:
    case_id = await dev_desk.open(account_id="acme", contact_id="acme-alice")
    alice = people["acme-alice"]
    content = b"ha debug: heartbeat lost on port3\n" * 20
    sent = await alice.post(
        f"/v1/cases/{case_id}/attachments", files={"file": ("ha.log", content, "text/plain")}
    )
    assert sent.status_code == 200, sent.text
    got = await alice.get(f"/v1/cases/{case_id}/attachments/att-1")
    assert got.status_code == 200 and got.content == content
    assert "ha.log" in got.headers["content-disposition"]
    problem(await alice.get(f"/v1/cases/{case_id}/attachments/att-9"), 404, "att-1")

    too_big = await alice.post(
        f"/v1/cases/{case_id}/attachments", files={"file": ("big.log", b"x" * 5000, "text/plain")}
    )
    problem(too_big, 413, "4,096 bytes")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        boundary = b"--b0undary\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="s.log"\r\n\r\n'
        for _ in range(10):
            yield b"y" * 1000
        yield b"\r\n--b0undary--\r\n"

    streamed = await alice.post(
        f"/v1/cases/{case_id}/attachments",
        content=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    problem(streamed, 413, "4,096 bytes")
    leftovers = [p.name for p in (tmp_path / "state" / "attachments").glob(".upload-*")]
    assert leftovers == []

    # U5: a restricted case's file, its name and content, never reach a non-member
    restricted = await dev_desk.open(account_id="cyberdyne", contact_id="cyberdyne-judy")
    judy = people["cyberdyne-judy"]
    secret = b"enclave topology: site Bravo-7\n"
    sent = await judy.post(
        f"/v1/cases/{restricted}/attachments", files={"file": ("bravo.log", secret, "text/plain")}
    )
    assert sent.status_code == 200, sent.text
    assert (await judy.get(f"/v1/cases/{restricted}/attachments/att-1")).content == secret
    seen = (await people["gsc-erin"].get(f"/v1/cases/{restricted}")).json()
    assert seen["content_withheld"] is True and "Bravo" not in json.dumps(seen)
    assert seen["attachments"][0]["name"] != "bravo.log"
    problem(
        await people["gsc-erin"].get(f"/v1/cases/{restricted}/attachments/att-1"),
        403,
        "withheld",
        "U5",
    )
    assert (await people["usc-kara"].get(f"/v1/cases/{restricted}/attachments/att-1")).content == (
        secret
    )


async def test_a_par_customer_is_referred_and_lists_filter_by_state_and_priority(
    people: People, dev_desk: Desk
) -> None:
    referred = await people["soylent-sam"].post("/v1/cases", json=HA_PROBLEM)
    assert referred.status_code == 200, referred.text
    answer = referred.json()
    assert answer["case_id"] is None and answer["referred_to"] and answer["partner_contact"]

    p1 = await dev_desk.open(account_id="acme", contact_id="acme-bob", priority="P1")
    p3 = await dev_desk.open(account_id="acme", contact_id="acme-bob", priority="P3")
    await dev_desk.until(p3, lambda v: v.owner is not None)
    await dev_desk.until(p1, lambda v: v.owner is not None)

    async def in_progress_p3() -> list[dict[str, Any]]:
        answer = await people["acme-alice"].get("/v1/cases?priority=P3&state=in_progress")
        return list(answer.json())

    await eventually(  # visibility follows the cases' search attributes
        in_progress_p3,
        every=0.2,
        until=lambda rows: [r["case_id"] for r in rows] == [p3],
        what=f"only {p3} listed as an in-progress P3",
    )
    problem(await people["acme-alice"].get("/v1/cases?state=sleeping"), 400, "unknown state")
    assert all(r["account"] == "acme" for r in (await people["acme-alice"].get("/v1/cases")).json())


async def test_the_openapi_document_is_served_and_checked_in(server: ApiServer) -> None:
    """Fails when the API drifts from docs/openapi.json; CASEWORK_WRITE_OPENAPI=1 rewrites
    it (then review the diff and commit it)."""
    served = httpx.get(f"{server.url}/openapi.json").json()
    text = json.dumps(served, indent=2, sort_keys=True) + "\n"
    if os.environ.get("CASEWORK_WRITE_OPENAPI") == "1":
        OPENAPI.parent.mkdir(exist_ok=True)
        OPENAPI.write_text(text)
    assert OPENAPI.exists(), "docs/openapi.json is missing: run with CASEWORK_WRITE_OPENAPI=1"
    assert OPENAPI.read_text() == text, (
        "the API changed: run this test with CASEWORK_WRITE_OPENAPI=1, review docs/openapi.json"
    )
    paths = served["paths"]
    for path in (
        "/v1/cases",
        "/v1/cases/{case}",
        "/v1/cases/{case}/feed",
        "/v1/cases/{case}/actions/{action}",
        "/v1/cases/{case}/attachments",
        "/v1/cases/{case}/attachments/{attachment}",
    ):
        assert path in paths, path
    assert "Problem" in served["components"]["schemas"]
    assert not any(p.startswith("/cases") for p in paths)  # the page is not the API


def test_casework_api_refuses_a_bad_upload_bound_before_starting(tmp_path: Path) -> None:
    import subprocess

    from tests.conftest import binary

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "CASEWORK_"))}
    done = subprocess.run(
        [binary("casework"), "--state-dir", str(tmp_path), "api", "--max-upload", "lots"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2, done
    assert "--max-upload: 'lots' is not a size; write it like 256MB" in done.stderr
    door = subprocess.run(
        [binary("casework"), "door", "--help"], capture_output=True, text=True, timeout=60
    )
    assert door.returncode == 0 and "--max-upload" in door.stdout  # the older name still works
