"""Nothing lost, nothing doubled (issue 24, E4): a case holds under many writers at once, a
client's retries and a credential copied out of its history.

Against a real `casework up` (its door, dev server, worker and SQLite database): the comments
of many parallel writers are each on the feed and in the outbox exactly once, in each writer's
order (what a task Temporal discards once wrote used to stand in for the task it kept); an
action sent again under its Idempotency-Key is answered with its first outcome; a token read
out of a history acts on nothing. Then, on the time-skipping server, the case remembers an
update's outcome across continue-as-new. Stress figures at larger sizes come from
benchmarks/parallel_writers.py.
"""

from __future__ import annotations

import asyncio
import collections
import tomllib
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
)
from temporalio.converter import PayloadConverter

from casework.converter import converter_for
from casework.domain.actions import ActionResult
from casework.door.errors import DoorError
from casework.door.service import CaseGates
from casework.identity.tokens import HEADER
from casework.settings import Settings
from tests.conftest import Desk, as_person, run_state
from tests.test_up import Engine, free_port
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(240)

WRITERS = 30
COMMENTS_EACH = 5


class Door:
    """The engine's door as its people use it: one HTTP client per person."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        profiles = tomllib.loads((engine.state / "profiles.toml").read_text())["profiles"]
        self.url = profiles["acme-alice"]["url"]
        self.keys = {name: p["key"] for name, p in profiles.items()}

    def client(self, person: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.keys[person]}"},
            timeout=120,
            limits=httpx.Limits(max_connections=WRITERS + 5),
        )

    async def open(self, person: str = "acme-alice") -> tuple[str, str | None]:
        async with self.client(person) as client:
            answer = await client.post(
                "/v1/cases",
                json={
                    "product": "FortiGate",
                    "version": "7.4.3",
                    "priority": "P3",
                    "description": "many hands",
                },
            )
        assert answer.status_code == 200, answer.text
        return answer.json()["case_id"], answer.json()["owner"]

    async def comments(self, case: str, person: str = "acme-alice") -> list[str]:
        """The case's comments as its database feed has them, oldest first."""
        async with self.client(person) as client:
            page = await client.get(f"/v1/cases/{case}/feed", params={"page_size": 500})
        assert page.status_code == 200, page.text
        entries = page.json()["entries"]
        return [e["text"] for e in entries if e["kind"] == "comment" and not e["refused"]]

    async def told_owner(self, case: str, owner: str) -> list[str]:
        """What the outbox told the owner of the customer's comments, in the order queued."""
        async with self.client(owner) as client:
            rows = (await client.get("/v1/outbox", params={"case": case, "limit": 1000})).json()
        rows.sort(key=lambda r: r["id"])
        return [r["body"] for r in rows if r["subject"].startswith("Comment on")]

    async def temporal(self) -> Client:
        settings = Settings.from_env(state_dir=self.engine.state)
        return await Client.connect(self.engine.address, data_converter=converter_for(settings))


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Door]:
    engine = Engine(tmp_path_factory.mktemp("once") / "state", free_port(), free_port())
    try:
        engine.wait_for("Ctrl+C")
        yield Door(engine)
    finally:
        engine.kill()


async def test_every_comment_of_thirty_parallel_writers_is_on_the_feed_and_told_once(
    door: Door,
) -> None:
    """E4: 30 people comment on one case at once, 5 comments each, each waiting for their
    answer before the next (as the page and the CLI do), resending a 429 or 503 with the same
    Idempotency-Key. Every comment answered 2xx is on the feed once, told to the owner once,
    in its writer's order; none answered otherwise is there."""
    case, owner = await door.open()
    assert owner is not None
    answered: dict[int, list[str]] = collections.defaultdict(list)
    codes: collections.Counter[int] = collections.Counter()

    async def writer(client: httpx.AsyncClient, number: int) -> None:
        for n in range(COMMENTS_EACH):
            text, key = f"writer {number} comment {n}", uuid.uuid4().hex
            for _ in range(20):
                answer = await client.post(
                    f"/v1/cases/{case}/actions/comment",
                    json={"text": text},
                    headers={"Idempotency-Key": key},
                )
                codes[answer.status_code] += 1
                if answer.status_code not in (429, 503):
                    break
                assert answer.headers["Idempotency-Key"] == key
                # not a wait on state: a client honours the door's Retry-After before resending
                await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
            if answer.status_code == 200:
                answered[number].append(text)

    async with door.client("acme-alice") as client:
        await asyncio.gather(*(writer(client, w) for w in range(WRITERS)))
    every = [t for texts in answered.values() for t in texts]
    assert len(every) == WRITERS * COMMENTS_EACH, codes

    feed = await eventually_all(door, case, lambda: door.comments(case), len(every))
    told = await eventually_all(door, case, lambda: door.told_owner(case, owner), len(every))
    for name, found in (("feed", feed), ("outbox", told)):
        counts = collections.Counter(found)
        assert not [t for t in every if counts[t] != 1], f"{name}: lost or doubled"
        assert set(found) == set(every), f"{name}: something nobody was answered for"
        for texts in answered.values():
            assert [t for t in found if t in texts] == texts, f"{name}: out of a writer's order"


async def eventually_all(door: Door, case: str, read: Any, count: int) -> list[str]:
    """What `read()` finds once it holds `count` entries and the case has settled (no task
    outstanding, nothing it decided left to write): nothing more can arrive late, so a double
    written by a task Temporal discarded is there to be counted."""
    await eventually(
        read, every=0.2, until=lambda found: len(found) >= count, what=f"{count} comments"
    )
    handle = (await door.temporal()).get_workflow_handle(case)

    async def settled() -> bool:
        state = await run_state(handle)
        return state is None or state.closed or state.settled

    await eventually(settled, what=f"{case} to settle")
    return list(await read())


async def test_an_action_sent_again_with_its_key_is_taken_once(door: Door) -> None:
    """E4: the same comment sent twice with one Idempotency-Key (a client that timed out) is
    one comment, answered twice alike; the same key with another text is refused 422 naming
    the header; another person's identical key is their own."""
    case, _ = await door.open()
    key = uuid.uuid4().hex
    async with door.client("acme-alice") as alice, door.client("acme-bob") as bob:
        post = {"json": {"text": "same again"}, "headers": {"Idempotency-Key": key}}
        first = await alice.post(f"/v1/cases/{case}/actions/comment", **post)
        again = await alice.post(f"/v1/cases/{case}/actions/comment", **post)
        other = await alice.post(
            f"/v1/cases/{case}/actions/comment",
            json={"text": "something else"},
            headers={"Idempotency-Key": key},
        )
        bobs = await bob.post(f"/v1/cases/{case}/actions/comment", **post)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json() == again.json()
    assert first.headers["Idempotency-Key"] == key
    assert other.status_code == 422, other.text
    assert other.json()["fields"] == ["Idempotency-Key"]
    assert "was used for another request" in other.json()["detail"]
    assert bobs.status_code == 200, bobs.text
    assert await door.comments(case) == ["same again", "same again"]  # Alice's once, Bob's


class _Replaying(Interceptor):
    """A raw Temporal client that sends a stolen token in its updates' headers."""

    def __init__(self, token: Payload) -> None:
        self.token = token

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        token = self.token

        class _Out(OutboundInterceptor):
            async def start_workflow_update(
                self, input: StartWorkflowUpdateInput
            ) -> WorkflowUpdateHandle[Any]:
                input.headers = {**input.headers, HEADER: token}
                return await super().start_workflow_update(input)

        return _Out(next)


async def test_a_token_copied_out_of_a_history_acts_on_nothing(door: Door) -> None:
    """U6/E4: the history holds the door's token encrypted; someone with the keys who decrypts
    it and sends it again with a raw Temporal client, with the same payload or another, is
    refused (on the feed), and nothing is applied as the person it names."""
    case, _ = await door.open()
    async with door.client("acme-alice") as alice:
        said = await alice.post(f"/v1/cases/{case}/actions/comment", json={"text": "mine"})
    assert said.status_code == 200, said.text
    temporal = await door.temporal()
    handle: WorkflowHandle[Any, Any] = temporal.get_workflow_handle(case)
    header = None
    async for event in handle.fetch_history_events():
        if event.HasField("workflow_execution_update_accepted_event_attributes"):
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            if request.input.name == "comment":
                header = request.input.header.fields[HEADER]
    assert header is not None
    assert header.metadata["encoding"] == b"binary/encrypted"  # nobody reads it in history
    (plain,) = await temporal.data_converter.payload_codec.decode([header])  # type: ignore[union-attr]
    assert PayloadConverter.default.from_payload(plain, str).count(".") == 2  # a JWT

    config = temporal.config()
    config["interceptors"] = [_Replaying(plain)]
    thief = Client(**config).get_workflow_handle(case)
    for payload in ({"actor": "acme-alice", "text": "mine"}, {"text": "I never said this"}):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await thief.execute_update("comment", payload, result_type=ActionResult)
        assert "CredentialRefused" in repr(refused.value.cause) or "credential" in str(
            refused.value.cause
        )
    assert await door.comments(case) == ["mine"]
    async with door.client("acme-alice") as alice:
        entries = (await alice.get(f"/v1/cases/{case}/feed")).json()["entries"]
    refusals = [e["text"] for e in entries if e["refused"]]
    assert any("used already" in r for r in refusals), refusals
    assert any("made for another message" in r for r in refusals), refusals


async def test_a_case_remembers_an_update_across_its_roll_over(desk: Desk) -> None:
    """E4: an update sent again after the case continued as new (the server has forgotten
    it) is answered with its first outcome and applied once."""
    desk.case_options = {"index_search_attributes": False, "continue_as_new_after_events": 30}
    case_id = await desk.open(priority="P2")
    await desk.until(case_id, lambda v: v.state == "in_progress")
    first_run = (await desk.case(case_id).describe()).run_id
    update_id = f"acme-alice/{uuid.uuid4().hex}/{'0' * 16}"
    with as_person("acme-alice"):
        first = await desk.case(case_id).execute_update(
            "comment",
            {"actor": "acme-alice", "text": "once"},
            id=update_id,
            result_type=ActionResult,
        )
    for i in range(12):  # enough to roll the case over
        await desk.act(case_id, "comment", actor="acme-alice", text=f"filler {i}")
    assert (await desk.case(case_id).describe()).run_id != first_run
    with as_person("acme-alice"):
        again = await desk.case(case_id).execute_update(
            "comment",
            {"actor": "acme-alice", "text": "once"},
            id=update_id,
            result_type=ActionResult,
        )
    assert again == first
    view = await desk.view(case_id)
    assert any(e.kind == "continued" for e in view.feed)
    assert [e.text for e in view.feed if e.kind == "comment"].count("once") == 1


async def test_a_door_queues_a_cases_actions_and_answers_429_when_the_queue_is_full() -> None:
    """A busy case says so: past its slots and their wait, 429 with Retry-After and the key
    to send again under; never a refusal."""
    gates = CaseGates(width=1, wait=0.05)
    async with gates.slot("case-000001", "comment", "k1"):
        with pytest.raises(DoorError) as busy:
            async with gates.slot("case-000001", "comment", "k2"):
                pass
        async with gates.slot("case-000002", "comment", "k3"):
            pass  # another case has its own slots
    assert busy.value.status == 429
    assert busy.value.headers == {"Idempotency-Key": "k2", "Retry-After": "1"}
    assert "did not take" in busy.value.message
    async with gates.slot("case-000001", "comment", "k4"):
        pass  # the slot is free again
    assert gates._gates == {}  # nothing kept once nobody uses it


def test_the_cli_sends_a_busy_action_again_under_one_key(tmp_path: Any) -> None:
    """The CLI waits out a busy case (429, then 503) and sends the same Idempotency-Key each
    time, so the case takes the action once."""
    import http.server
    import threading

    from casework.cli import door_client

    seen: list[str | None] = []
    answers = iter([429, 503, 200])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers.get("Idempotency-Key"))
            status = next(answers)
            body = (
                b'{"case_id": "case-000001", "action": "comment", "state": "in_progress",'
                b' "level": "L0", "message": "comment added"}'
                if status == 200
                else b'{"error": "busy"}'
            )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    credential = door_client.Credential(
        url=f"http://127.0.0.1:{server.server_address[1]}", key="cw_x_y", profile=None, source="t"
    )
    original = door_client.credential_of, door_client.BUSY_PAUSES
    door_client.credential_of = lambda ctx=None: credential  # type: ignore[assignment]
    door_client.BUSY_PAUSES = (0.01, 0.01, 0.01)
    try:
        answer = door_client.act("/v1/cases/case-000001/actions/comment", json={"text": "x"})
    finally:
        door_client.credential_of, door_client.BUSY_PAUSES = original  # type: ignore[assignment]
        server.shutdown()
    assert answer["message"] == "comment added"
    assert len(seen) == 3 and seen[0] is not None and len(set(seen)) == 1


async def test_the_page_waits_out_a_busy_case_then_says_so_in_plain_words() -> None:
    from casework.door.page import base as page

    tries = 0

    async def busy() -> None:
        nonlocal tries
        tries += 1
        raise DoorError(429, "case-000001 is busy", headers={"Retry-After": "0"})

    with pytest.raises(DoorError) as said:
        await page.patiently(busy)
    assert tries == page.PAGE_BUSY_TRIES
    assert said.value.status == 429 and "nothing of yours was changed" in said.value.message
