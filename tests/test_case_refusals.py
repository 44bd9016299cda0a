"""Refusals (E4): a wrong actor, an action the case's state does not allow, and malformed
payloads sent raw, as an integration or the `temporal` CLI could send them. Each is refused
with a sentence that says what was wrong and leaves the case as it was and still working. A
well-formed action the rules refuse is recorded on the feed; a malformed payload is rejected
at the door (the update's validator) and never enters the case's history.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from casework.attachments import AttachmentStore
from casework.domain.actions import ActionResult
from casework.domain.models import CaseView
from tests.conftest import Desk, as_person

VOLATILE = {"feed", "feed_total", "sla_remaining_seconds"}


async def open_assigned(desk: Desk, **overrides: Any) -> CaseView:
    case_id = await desk.open(**overrides)
    return await desk.until(case_id, lambda v: v.state == "in_progress")


def facts(view: CaseView) -> dict[str, Any]:
    """What a case is, apart from its feed and the time left."""
    return view.model_dump(exclude=VOLATILE)


async def raw_update(desk: Desk, case_id: str, action: str, *args: Any) -> ActionResult:
    """The update as the payload's actor sends it through the door (a token for them)."""
    actor = args[0].get("actor") if args and isinstance(args[0], dict) else None
    with as_person(actor):
        return await desk.case(case_id).execute_update(action, *args, result_type=ActionResult)


async def assert_refused_and_unchanged(
    desk: Desk, before: CaseView, action: str, *args: Any, kind: str = "ActionRefused"
) -> tuple[str, CaseView]:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await raw_update(desk, before.case_id, action, *args)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError), cause
    assert cause.type == kind
    assert cause.message.startswith(f"{action} refused on {before.case_id}: ")
    after = await desk.view(before.case_id)
    assert facts(after) == facts(before), "a refusal changes nothing"
    assert after.feed[: len(before.feed)] == before.feed
    [entry] = after.feed[len(before.feed) :]
    assert entry.refused and entry.kind == action and entry.text.startswith("refused: ")
    return cause.message, after


async def test_a_response_by_the_customer_is_refused(desk: Desk) -> None:
    """S2/E4: only the owner responds; the customer's attempt is refused, on the feed."""
    case = await open_assigned(desk)
    message, after = await assert_refused_and_unchanged(
        desk, case, "respond", {"actor": "acme-alice", "text": "I fixed it myself"}
    )
    assert "only the engineer who owns the case can do this; acme-alice is not the owner" in message
    assert after.feed[-1].actor == "acme-alice"


async def test_an_action_the_state_does_not_allow_is_refused(desk: Desk) -> None:
    """E5/E4: nobody has asked the customer anything, so providing info is not possible while
    the case is in progress; the refusal says what is allowed now."""
    case = await open_assigned(desk)
    message, _ = await assert_refused_and_unchanged(
        desk, case, "provide_info", {"actor": "acme-alice", "text": "here you go"}
    )
    assert "provide info is not possible while the case is in progress" in message
    assert "allowed now:" in message and "comment" in message and "respond" in message


MALFORMED: list[tuple[str, Any, str]] = [
    ("a string", "please respond", "the payload must be a JSON object"),
    ("a list", ["cc-dana", "text"], "the payload must be a JSON object"),
    ("nothing", None, "the payload must be a JSON object"),
    ("an empty object", {}, "text: Field required"),  # who acts comes from the credential
    ("no text", {"actor": "cc-dana"}, "text: Field required"),
    (
        "an unknown field",
        {"actor": "cc-dana", "text": "on it", "urgency": "high"},
        "urgency: Extra inputs are not permitted",
    ),
    ("a blank text", {"actor": "cc-dana", "text": "   "}, "text: String should have at least 1"),
    (
        "a text over the limit",
        {"actor": "cc-dana", "text": "x" * 20_001},
        "text: String should have at most 20000 characters",
    ),
    (
        "a 1 MB text",
        {"actor": "cc-dana", "text": "x" * 1_000_000},
        "an action takes at most 64,000: shorten the text or attach it as a file",
    ),
    (
        "a thousand unknown fields",
        {"actor": "cc-dana", "text": "x", **{f"f{i}": i for i in range(1_000)}},
        "f0: Extra inputs are not permitted",
    ),
    ("an actor that is not an id", {"actor": "cc dana!", "text": "x"}, "actor: String should"),
]


@pytest.mark.parametrize(
    ("payload", "says"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
async def test_a_malformed_payload_is_rejected_at_the_door_and_the_case_still_works(
    desk: Desk, payload: Any, says: str
) -> None:
    """E4: a payload that is not a well-formed `respond` (sent raw, as an integration could) is
    rejected with what was wrong and what was expected before it enters the case's history:
    no update is accepted, the case and its feed are unchanged, and a proper response
    afterwards succeeds (S2: it stops the clock)."""
    case = await open_assigned(desk)
    accepted = await updates_accepted(desk, case.case_id)
    args = () if payload is None else (payload,)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await raw_update(desk, case.case_id, "respond", *args)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidPayload", cause
    message = cause.message
    assert message.startswith(f"respond refused on {case.case_id}: ")
    assert says in message
    assert "expected {" in message or "JSON object like" in message or "64,000" in message
    assert len(message) < 500, "the refusal quotes the rule, not the payload"
    assert await updates_accepted(desk, case.case_id) == accepted, "nothing entered history"
    after = await desk.view(case.case_id)
    assert after.feed == case.feed and facts(after) == facts(case)

    result = await desk.act(case.case_id, "respond", actor="cc-dana", text="Looking at it")
    assert "clock stopped" in result.message
    assert (await desk.view(case.case_id)).sla.responded_at is not None


async def updates_accepted(desk: Desk, case_id: str) -> int:
    history = await desk.case(case_id).fetch_history()
    return sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    )


async def test_garbage_on_the_act_signal_is_recorded_and_never_wedges_the_case(
    desk: Desk,
) -> None:
    """E4: the `act` signal (the Web UI's form) takes any action as {"action": ...}; an unknown
    action, a payload that is not an object and an incomplete action are refused on the feed,
    a proper one is taken, and the case keeps answering updates."""
    case = await open_assigned(desk)
    handle = desk.case(case.case_id)
    with as_person("acme-alice"):
        await handle.signal("act", {"action": "explode", "actor": "acme-alice"})
        await handle.signal("act", "hello")
        await handle.signal("act", {"action": "respond", "actor": "acme-alice"})
        await handle.signal("act", {"action": "comment", "actor": "acme-alice", "text": "hi"})

    view = await desk.until(case.case_id, lambda v: len(v.feed) >= len(case.feed) + 4)
    new = view.feed[len(case.feed) :]
    assert [(e.kind, e.actor, e.refused) for e in new] == [
        ("unknown_action", "acme-alice", True),
        ("unknown_action", "acme-alice", True),
        ("respond", "acme-alice", True),
        ("comment", "acme-alice", False),
    ]
    assert "'action' must be one of respond, comment" in new[0].text
    assert "text: Field required" in new[2].text
    assert facts(view) == facts(case)

    result = await desk.act(case.case_id, "respond", actor="cc-dana", text="On it")
    assert result.state == "in_progress"
    assert (await desk.view(case.case_id)).sla.responded_at is not None


def typed_in_the_web_ui(text: bytes, encoding: bytes = b"json/plain") -> RawValue:
    """What the Web UI's signal form sends: the typed text as the payload's data, JSON or not
    (the codec server then encrypts it, as this test client's codec does)."""
    return RawValue(Payload(metadata={"encoding": encoding}, data=text))


async def test_an_act_signal_that_is_not_even_json_is_refused_on_the_feed(desk: Desk) -> None:
    """E4: the operator who types a malformed action in the Web UI's signal form sees it
    refused on the feed with the reason, like any other refusal, instead of nothing at all
    (the SDK drops a signal it cannot decode with only a log line); the case goes on."""
    case = await open_assigned(desk)
    handle = desk.case(case.case_id)
    await handle.signal("act", typed_in_the_web_ui(b'{"action": "comment", text: "hi"}'))
    await handle.signal("act", typed_in_the_web_ui(b"\xff\xfe not utf-8"))
    await handle.signal("act", typed_in_the_web_ui(b"comment", encoding=b"binary/plain"))
    await handle.signal("act", typed_in_the_web_ui(b"[1, 2]"))
    with as_person("acme-alice"):
        await handle.signal("act", {"action": "comment", "actor": "acme-alice", "text": "hi"})

    view = await desk.until(case.case_id, lambda v: v.feed[-1].kind == "comment")
    new = view.feed[len(case.feed) :]
    assert [(e.kind, e.actor, e.refused) for e in new] == [
        ("act", "operator", True),
        ("act", "operator", True),
        ("act", "operator", True),
        ("unknown_action", "operator", True),
        ("comment", "acme-alice", False),
    ]
    assert all(e.text.startswith("refused: ") for e in new[:4])
    assert "not JSON" in new[0].text and "line 1" in new[0].text
    assert "not JSON" in new[1].text
    assert "binary/plain" in new[2].text
    assert "a JSON object" in new[3].text
    assert facts(view) == facts(case)


async def test_a_file_the_attachment_store_does_not_hold_is_refused(
    desk: Desk, files: AttachmentStore, tmp_path: Path
) -> None:
    """U5: a case references only files its attachment store holds. A reference to anything
    else (sent raw as `temporal workflow update --name attach`, or a stale one) is refused with
    the reason and on the feed, by the update and by the `act` signal alike; a file the door
    stored is attached."""
    case = await open_assigned(desk)
    missing = hashlib.sha256(b"never uploaded").hexdigest()
    message, after = await assert_refused_and_unchanged(
        desk,
        case,
        "attach",
        {"actor": "acme-alice", "name": "ghost.log", "sha256": missing, "size": 14},
    )
    assert f"no file {missing}" in message and "attachment store" in message
    assert "casework attach" in message, "the refusal says how to attach a file"

    with as_person("acme-alice"):
        await desk.case(case.case_id).signal(
            "act", {"action": "attach", "name": "ghost.log", "sha256": missing, "size": 14}
        )
    view = await desk.until(case.case_id, lambda v: len(v.feed) > len(after.feed))
    [entry] = view.feed[len(after.feed) :]
    assert (entry.kind, entry.actor, entry.refused) == ("attach", "acme-alice", True)
    assert f"no file {missing}" in entry.text and view.attachments == []

    log = tmp_path / "ike.log"
    log.write_bytes(b"ike debug: tunnel down\n")
    stored = files.put(log)
    result = await desk.act(
        case.case_id, "attach", actor="acme-alice", name="ike.log", sha256=stored.sha256, size=23
    )
    assert result.message == "attached as att-1"
    [attachment] = (await desk.view(case.case_id, viewer="acme-alice")).attachments
    assert attachment.sha256 == stored.sha256
