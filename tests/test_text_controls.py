"""The characters of a text field (issue 24), once, in the domain models: a one-line field (a
product, a version, a name, a one-line reason, an attachment's name) takes no control character
(C0, DEL, C1, the Unicode line and paragraph separators), a text keeps its line breaks and tabs
and takes no other; the field is named. What a case accepted before the rule still decodes (the
state a case carries onto a newer release); a case refuses it on every path, the `act` signal
included (tests/histories/controls-case.json replays both refusals)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from temporalio.client import WorkflowUpdateFailedError

from casework.domain import actions
from casework.domain.directory import Contact
from casework.domain.models import IntakeResult, OpenCaseRequest, PartnerInfo
from casework.domain.validation import PayloadError, parse_payload
from tests.conftest import Desk, as_person

REFUSED_ANYWHERE = ("\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\u2028", "\u2029")
LINE_BREAKS = ("\r\n", "\n", "\r", "\t")
REQUEST = {
    "request_id": "req-1",
    "channel": "web",
    "account_id": "acme",
    "contact_id": "acme-alice",
    "product": "FortiGate",
    "version": "7.4.3",
    "priority": "P1",
    "description": "HA cluster fails over",
}
ACTOR = {"actor": "acme-alice"}
ONE_LINE: list[tuple[type[BaseModel], dict[str, Any], str]] = [
    (OpenCaseRequest, REQUEST, "product"),
    (OpenCaseRequest, REQUEST, "version"),
    (actions.Attach, {**ACTOR, "name": "ha.log", "sha256": "0" * 64, "size": 1}, "name"),
    (actions.ChangePriority, {**ACTOR, "priority": "P2", "reason": "worse"}, "reason"),
    (actions.Close, {**ACTOR, "reason": "fixed"}, "reason"),
    (actions.DeclineLogs, {**ACTOR, "reason": "policy"}, "reason"),
    (Contact, {"id": "acme-alice", "name": "Alice Adams"}, "name"),
]
"""Every one-line field a person types, by model."""
TEXTS: list[tuple[type[BaseModel], dict[str, Any], str]] = [
    (OpenCaseRequest, REQUEST, "description"),
    (actions.Comment, {**ACTOR, "text": "hello"}, "text"),
    (actions.Respond, {**ACTOR, "text": "hello"}, "text"),
    (actions.ProvideInfo, {**ACTOR, "text": "hello"}, "text"),
    (actions.RequestInfo, {**ACTOR, "items": ["logs"], "text": "hello"}, "text"),
    (actions.Escalate, {**ACTOR, "reason": "needs L1"}, "reason"),
    (actions.Reopen, {**ACTOR, "reason": "back again"}, "reason"),
    (actions.Resolve, {**ACTOR, "resolution": "fixed"}, "resolution"),
    (actions.FileProblemReport, {**ACTOR, "summary": "crash"}, "summary"),
    (actions.EscalateNow, {**ACTOR, "reason": "expertise", "note": "down"}, "note"),
    (actions.RequestLogApproval, {**ACTOR, "logs": ["att-1"], "note": "IKE"}, "note"),
    (actions.AcknowledgeEscalation, {**ACTOR, "note": "on it"}, "note"),
    (PartnerInfo, {**ACTOR, "text": "more logs"}, "text"),
]
"""Every multi-line text, by model."""


def _with(fields: dict[str, Any], field: str, character: str) -> dict[str, Any]:
    value = fields[field]
    return {**fields, field: value[:2] + character + value[2:]}


def _refusal(model: type[BaseModel], fields: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(fields)
    [error] = refused.value.errors()
    return dict(error)


@pytest.mark.parametrize(
    ("model", "fields", "field"), ONE_LINE, ids=[f"{m.__name__}.{f}" for m, _, f in ONE_LINE]
)
def test_a_one_line_field_refuses_every_control_character_naming_the_field(
    model: type[BaseModel], fields: dict[str, Any], field: str
) -> None:
    model.model_validate(fields)  # as it is: taken
    for character in REFUSED_ANYWHERE + LINE_BREAKS:
        error = _refusal(model, _with(fields, field, character))
        assert error["loc"] == (field,) and error["type"] == "control_character", error
        assert f"U+{ord(character[0]):04X}" in error["msg"] and "one line" in error["msg"]
    assert getattr(model.model_validate(_with(fields, field, " ")), field)  # a space is fine
    trailing = model.model_validate({**fields, field: f"{fields[field]}\r\n"})
    assert getattr(trailing, field) == fields[field]  # stripped, as every field is


@pytest.mark.parametrize(
    ("model", "fields", "field"), TEXTS, ids=[f"{m.__name__}.{f}" for m, _, f in TEXTS]
)
def test_a_text_keeps_its_lines_and_tabs_and_refuses_other_control_characters(
    model: type[BaseModel], fields: dict[str, Any], field: str
) -> None:
    for character in LINE_BREAKS:
        taken = model.model_validate(_with(fields, field, character))
        assert character in getattr(taken, field)
    for character in REFUSED_ANYWHERE:
        error = _refusal(model, _with(fields, field, character))
        assert error["loc"] == (field,) and error["type"] == "control_character", error
        assert f"U+{ord(character):04X}" in error["msg"] and "line breaks and tabs" in error["msg"]


def test_what_a_case_took_before_the_rule_decodes_as_it_was() -> None:
    """A case opened before the rule carries its request (its history's input, the state it
    rolls over with): read back without the rule, or the case could not run again."""
    from casework.domain.validation import RECORDED

    old = {**REQUEST, "version": "7.4\r\n.3"}
    with pytest.raises(ValidationError):
        OpenCaseRequest.model_validate(old)
    assert OpenCaseRequest.model_validate(old, context=RECORDED).version == "7.4\r\n.3"
    carried = IntakeResult.model_validate(
        {
            "case_id": "case-000001",
            "request": old,
            "account_name": "Acme",
            "contact_name": "Alice",
            "account_contacts": ["acme-alice"],
            "entitlement": {"tier": "PLATINUM", "targets": {"P1": 900}},
        }
    )
    assert carried.request.version == "7.4\r\n.3"


def test_a_handler_refuses_what_a_validator_refuses() -> None:
    """The case's handlers parse as its validators do: a text that breaks the rule is refused
    with the character named, line breaks in a text are taken."""
    with pytest.raises(PayloadError, match="U\\+001B"):
        parse_payload(actions.Comment, {**ACTOR, "text": "red \x1b[31mERR"})
    with pytest.raises(PayloadError, match="Field required"):
        parse_payload(actions.Comment, {"text": "\x1b"})
    assert parse_payload(actions.Comment, {**ACTOR, "text": "a\r\nb"}).text == "a\r\nb"


async def test_a_new_case_refuses_control_characters_by_update_and_by_the_act_signal(
    desk: Desk,
) -> None:
    case_id = await desk.open(priority="P2")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await desk.act(case_id, "comment", actor="acme-alice", text="red \x1b[31mERR")
    assert "U+001B" in str(refused.value.cause)
    with as_person("acme-bob"):
        await desk.case(case_id).signal(
            "act", {"action": "change_priority", "priority": "P3", "reason": "less\nnow"}
        )
        await desk.case(case_id).signal("act", {"action": "comment", "text": "two\r\nlines"})
    view = await desk.until(case_id, lambda v: any(e.text == "two\r\nlines" for e in v.feed))
    refusals = [e for e in view.feed if e.refused]
    assert [(e.kind, e.actor) for e in refusals] == [("change_priority", "acme-bob")], refusals
    assert "reason" in refusals[0].text and "U+000A" in refusals[0].text
    assert view.priority == "P2"
