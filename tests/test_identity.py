"""Who is asking (U5, U6, E3), from the case's side: the case acts on the principal the door's
token names, never on a name in the payload; a message without a token is the namespace
operator's (the Web UI's forms, `temporal workflow update/signal/query`), and a token that does
not verify (forged, expired, made for another case) is refused before anything enters history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
)
from temporalio.client import Interceptor as ClientInterceptor
from temporalio.common import RawValue
from temporalio.converter import PayloadConverter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from casework.domain.actions import ActionResult
from casework.domain.models import CaseView
from casework.identity.interceptors import PrincipalHeaders, acting, proof_of
from casework.identity.keyring import fresh_ring
from casework.identity.principal import Principal
from casework.identity.tokens import HEADER, issue
from tests.conftest import SKIPPED_TIME_TTL, TEST_RING, Desk, as_person
from tests.test_us_citizen_visibility import worked_case
from tests.us_citizen_desk import SECRET

OPERATOR_NOTE = "came without a casework credential"


async def open_assigned(desk: Desk) -> CaseView:
    case_id = await desk.open(priority="P3")
    return await desk.until(case_id, lambda v: v.state == "in_progress")


async def accepted_updates(desk: Desk, case_id: str) -> int:
    history = await desk.case(case_id).fetch_history()
    return sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    )


def client_with(desk: Desk, interceptor: ClientInterceptor) -> Client:
    config = desk.client.config()
    config["interceptors"] = [interceptor]
    return Client(**config)


class FixedToken(ClientInterceptor):
    """Puts a token of the test's making in every update's header (what an attacker with
    namespace access, or a stale client, would send)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        token = self.token

        class Outbound(OutboundInterceptor):
            async def start_workflow_update(
                self, input: StartWorkflowUpdateInput
            ) -> WorkflowUpdateHandle[Any]:
                header = PayloadConverter.default.to_payloads([token])[0]
                input.headers = {**input.headers, HEADER: header}
                return await super().start_workflow_update(input)

        return Outbound(next)


async def refused_update(client: Client, case_id: str, action: str, payload: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        with acting(Principal(id="cc-dana", via="api-key")):
            await client.get_workflow_handle(case_id).execute_update(
                action, payload, result_type=ActionResult
            )
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    return f"{cause.type}: {cause.message}"


async def test_an_update_without_a_token_is_the_operators_and_is_refused(desk: Desk) -> None:
    """E4: `temporal workflow update --name respond --input '{"actor": "cc-dana", ...}'`,
    typed by someone with namespace access, does not make them the owner: the case refuses it
    as the operator's, says why and how to act properly, and puts the refusal on its feed."""
    case = await open_assigned(desk)
    owner = case.owner.engineer_id if case.owner else ""
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await desk.case(case.case_id).execute_update(
            "respond",
            {"actor": owner, "text": "I am the owner, trust me"},
            result_type=ActionResult,
        )
    message = str(refused.value.cause)
    assert "only the engineer who owns the case can do this; operator is not the owner" in message
    assert OPERATOR_NOTE in message and "your own key" in message
    view = await desk.view(case.case_id, viewer=owner)
    assert view.sla.responded_at is None, "the clock still runs (S2)"
    last = view.feed[-1]
    assert (last.kind, last.actor, last.refused) == ("respond", "operator", True)


async def test_the_web_ui_signal_form_is_the_operators(desk: Desk) -> None:
    """E4: the `act` signal from the Web UI carries no credential: a customer's comment typed
    there is refused on the feed as the operator's, and the case goes on."""
    case = await open_assigned(desk)
    await desk.case(case.case_id).signal(
        "act", {"action": "comment", "actor": "acme-alice", "text": "hello from the UI"}
    )
    view = await desk.until(case.case_id, lambda v: v.feed[-1].kind == "comment")
    assert view.feed[-1].actor == "operator" and view.feed[-1].refused
    assert OPERATOR_NOTE in view.feed[-1].text
    result = await desk.act(case.case_id, "comment", actor="acme-alice", text="via the door")
    assert result.action == "comment"


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("forged", "signed with a key this engine does not have"),
        ("expired", "has expired"),
        ("another case", "was made for respond on case-999999"),
        ("another action", "was made for close on"),
        ("garbage", "is malformed"),
    ],
)
async def test_a_token_that_does_not_verify_is_refused_before_history(
    desk: Desk, how: str, says: str
) -> None:
    """A forged, expired or misdirected token is rejected by the update's validator with the
    reason: nothing enters the case's history, and the case still works."""
    case = await open_assigned(desk)
    owner = case.owner.engineer_id if case.owner else ""
    me = Principal(id=owner, via="api-key")
    now = datetime.now(UTC)
    if how == "forged":
        client = client_with(desk, PrincipalHeaders(fresh_ring()))
    elif how == "expired":
        client = client_with(desk, PrincipalHeaders(TEST_RING, ttl=timedelta(seconds=-1)))
    else:
        token = {
            "another case": lambda: issue(
                TEST_RING,
                me,
                workflow_id="case-999999",
                operation="respond",
                now=now,
                ttl=SKIPPED_TIME_TTL,
            ),
            "another action": lambda: issue(
                TEST_RING,
                me,
                workflow_id=case.case_id,
                operation="close",
                now=now,
                ttl=SKIPPED_TIME_TTL,
            ),
            "garbage": lambda: "not.a.token",
        }[how]()
        client = client_with(desk, FixedToken(token))
    before = await accepted_updates(desk, case.case_id)
    message = await refused_update(client, case.case_id, "respond", {"text": "On it"})
    assert message.startswith(f"CredentialRefused: respond refused on {case.case_id}: ")
    assert says in message
    assert await accepted_updates(desk, case.case_id) == before, "nothing entered history"
    result = await desk.act(case.case_id, "respond", actor=owner, text="On it")
    assert result.action == "respond"


async def test_a_payload_naming_someone_else_is_refused(desk: Desk) -> None:
    """The credential says who acts: acme-alice's token with `"actor": "cc-dana"` in the
    payload does not respond as the engineer; the refusal says to leave `actor` out."""
    case = await open_assigned(desk)
    owner = case.owner.engineer_id if case.owner else ""
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        with as_person("acme-alice"):
            await desk.case(case.case_id).execute_update(
                "respond", {"actor": owner, "text": "fixed"}, result_type=ActionResult
            )
    assert f"names {owner!r} as actor, but its credential is acme-alice's" in str(
        refused.value.cause
    )
    with as_person("acme-alice"):  # without actor, it is acme-alice's comment
        result = await desk.case(case.case_id).execute_update(
            "comment", {"text": "no actor named"}, result_type=ActionResult
        )
    assert result.action == "comment"
    view = await desk.view(case.case_id, viewer=owner)
    assert (view.feed[-1].actor, view.feed[-1].text) == ("acme-alice", "no actor named")


async def test_customer_care_records_a_callers_escalation_and_the_feed_says_both(
    desk: Desk,
) -> None:
    """E3: cc-dana takes acme-bob's call and records his Escalate Now: the escalation is
    acme-bob's, and the feed says cc-dana recorded it for him."""
    case = await open_assigned(desk)
    with acting(Principal(id="cc-dana", on_behalf_of="acme-bob", via="api-key")):
        await desk.case(case.case_id).execute_update(
            "escalate_now",
            {"reason": "lack_of_progress", "channel": "phone", "recorded_by": "cc-dana"},
            result_type=ActionResult,
        )
    view = await desk.until(case.case_id, lambda v: bool(v.escalations))
    assert view.escalations[0].raised_by == "acme-bob"
    recorded = [e for e in view.feed if e.kind == "recorded_for"]
    assert [(e.actor, e.text) for e in recorded] == [
        ("cc-dana", "escalate_now recorded for acme-bob")
    ]


async def test_queries_without_a_token_see_a_restricted_case_withheld(
    env: WorkflowEnvironment, desk: Desk
) -> None:
    """U5: `temporal workflow query --name view --input '{"viewer": "usc-kara"}'` without a
    credential is the operator's: the description is withheld whoever the payload names; with
    usc-kara's token it is shown."""
    full = await worked_case(env, desk)
    handle = desk.case(full.case_id)
    raw = await handle.query("view", {"viewer": "usc-kara"}, result_type=CaseView)
    assert raw.content_withheld and SECRET not in raw.model_dump_json()
    with as_person("usc-kara"):
        member = await handle.query("view", {"viewer": "operator"}, result_type=CaseView)
    assert member.description == SECRET


async def test_a_forged_vendor_signal_is_refused(desk: Desk) -> None:
    """P4: `vendor_progress` comes only from a vendor escalation of this engine (signed by the
    case itself); the same signal sent by hand is refused on the feed and changes nothing."""
    case = await open_assigned(desk)
    await desk.case(case.case_id).signal(
        "vendor_progress", {"actor": "gec-hugo", "kind": "resolve", "text": "all fixed"}
    )
    view = await desk.until(case.case_id, lambda v: v.feed[-1].kind == "vendor_progress")
    assert view.feed[-1].refused and "only a case of this engine" in view.feed[-1].text
    assert view.state == case.state


@pytest.mark.parametrize("raw", [False, True], ids=["decoded", "raw"])
def test_another_cases_proof_is_recognised_decoded_or_raw(raw: bool) -> None:
    """P4: the token another case's signal carries as its last argument is taken off whether
    the SDK decoded the arguments or handed them over as RawValue (the `act` signal takes its
    payload raw); anything else stays an argument of the signal."""

    def arg(value: Any) -> Any:
        return RawValue(PayloadConverter.default.to_payload(value)) if raw else value

    assert proof_of(arg({HEADER: "token"})) == {HEADER: "token"}
    assert proof_of(arg({HEADER: "token", "text": "hi"})) is None
    assert proof_of(arg({"action": "comment"})) is None
    assert proof_of(arg("casework-principal")) is None
    not_json = RawValue(Payload(metadata={"encoding": b"json/plain"}, data=b"{not json"))
    assert proof_of(not_json) is None
