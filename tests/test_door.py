"""The door (issue 10) against a real worker: who you are comes from a credential, never from
a name in the request; what a credential allows is checked before anything is sent."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casework.attachments import AttachmentStore
from casework.door.errors import DoorError
from casework.door.people import Identity
from casework.door.rules import Refused, open_fields
from casework.door.service import Door
from casework.store import Store
from tests.conftest import Desk
from tests.door_helpers import bearer, door, key_for

HA_PROBLEM = {
    "product": "FortiGate",
    "version": "7.4.3",
    "priority": "P2",
    "description": "HA cluster fails over every few minutes",
}


async def test_whoami_names_the_person_a_key_belongs_to(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    async with door(store, desk, tmp_path) as http:
        alice = await http.get("/v1/whoami", headers=bearer(key_for(store, "acme-alice")))
        kara = await http.get("/v1/whoami", headers=bearer(key_for(store, "usc-kara")))
        dana = await http.get("/v1/whoami", headers=bearer(key_for(store, "cc-dana")))
        nobody = await http.get("/v1/whoami")
    assert alice.status_code == 200, alice.text
    assert {k: alice.json()[k] for k in ("id", "kind", "account", "restricted_member", "via")} == {
        "id": "acme-alice",
        "kind": "contact",
        "account": "acme",
        "restricted_member": False,
        "via": "api-key",
    }
    assert kara.json()["restricted_member"] is True and kara.json()["kind"] == "engineer"
    assert dana.json()["customer_care"] is True
    assert nobody.status_code == 401 and "Authorization: Bearer" in nobody.json()["error"]


async def test_a_forged_expired_revoked_unknown_or_malformed_key_is_refused_saying_which(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    good = key_for(store, "acme-alice")
    key_id = good.split("_")[1]
    forged = f"cw_{key_id}_{'x' * 43}"
    expired = key_for(store, "acme-alice", expires_at=datetime.now(UTC) - timedelta(minutes=1))
    revoked = key_for(store, "acme-alice")
    store.api_keys.revoke(revoked.split("_")[1], datetime.now(UTC))
    unknown = f"cw_{'0' * 12}_{'y' * 43}"
    async with door(store, desk, tmp_path) as http:
        answers = {
            name: await http.get("/v1/whoami", headers=bearer(token))
            for name, token in {
                "forged": forged,
                "expired": expired,
                "revoked": revoked,
                "unknown": unknown,
                "malformed": "cw_nonsense",
                "not a key": "hello",
            }.items()
        }
        still_good = await http.get("/v1/whoami", headers=bearer(good))
    said = {name: (r.status_code, r.json()["error"]) for name, r in answers.items()}
    assert {status for status, _ in said.values()} == {401}, said
    assert "does not match" in said["forged"][1]
    assert "expired" in said["expired"][1] and "casework keys create" in said["expired"][1]
    assert "revoked" in said["revoked"][1]
    assert "not known" in said["unknown"][1]
    assert "malformed" in said["malformed"][1]
    assert "not a casework API key" in said["not a key"][1]
    assert still_good.status_code == 200


async def test_a_key_of_someone_no_longer_in_the_directory_is_refused(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    ghost = key_for(store, "ghost-gus")  # the operator command refuses this; the table does not
    async with door(store, desk, tmp_path) as http:
        answer = await http.get("/v1/whoami", headers=bearer(ghost))
    assert answer.status_code == 403
    assert "not in the casework directory" in answer.json()["error"]


async def test_a_contact_opens_for_their_own_account_only(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    alice = bearer(key_for(store, "acme-alice"))
    async with door(store, desk, tmp_path) as http:
        theirs = await http.post("/v1/cases", json=HA_PROBLEM, headers=alice)
        other = await http.post(
            "/v1/cases",
            json={**HA_PROBLEM, "account_id": "globex", "contact_id": "globex-carol"},
            headers=alice,
        )
        by_phone = await http.post(
            "/v1/cases", json={**HA_PROBLEM, "channel": "phone"}, headers=alice
        )
        bad = await http.post("/v1/cases", json={**HA_PROBLEM, "priority": "P9"}, headers=alice)
    assert theirs.status_code == 200, theirs.text
    desk.opened.append(theirs.json()["case_id"])
    assert other.status_code == 403 and "own account only" in other.json()["error"]
    assert by_phone.status_code == 403 and "Customer Care" in by_phone.json()["error"]
    assert bad.status_code == 422 and "priority" in bad.json()["error"]
    assert len(desk.opened) == 1  # nothing was opened for the refused requests


async def test_customer_care_opens_a_phone_case_and_acts_for_the_caller_only(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    dana = bearer(key_for(store, "cc-dana"))
    erin = bearer(key_for(store, "gsc-erin"))
    async with door(store, desk, tmp_path) as http:
        opened = await http.post(
            "/v1/cases",
            json={**HA_PROBLEM, "account_id": "globex", "contact_id": "globex-carol"},
            headers=dana,
        )
        assert opened.status_code == 200, opened.text
        case_id = opened.json()["case_id"]
        desk.opened.append(case_id)
        recorded = await http.post(
            f"/v1/cases/{case_id}/actions/comment",
            json={"text": "Caller says it happens at 2am", "on_behalf_of": "globex-carol"},
            headers=dana,
        )
        not_cc = await http.post(
            f"/v1/cases/{case_id}/actions/comment",
            json={"text": "for Carol", "on_behalf_of": "globex-carol"},
            headers=erin,
        )
        not_a_phone_action = await http.post(
            f"/v1/cases/{case_id}/actions/resolve",
            json={"resolution": "rebooted", "on_behalf_of": "globex-carol"},
            headers=dana,
        )
        not_a_contact = await http.post(
            f"/v1/cases/{case_id}/actions/comment",
            json={"text": "for Erin", "on_behalf_of": "gsc-erin"},
            headers=dana,
        )
        escalated = await http.post(
            f"/v1/cases/{case_id}/actions/escalate_now",
            json={"reason": "business_impact", "on_behalf_of": "globex-carol"},
            headers=dana,
        )
        view = await http.get(f"/v1/cases/{case_id}", headers=dana)
    assert recorded.status_code == 200, recorded.text
    assert not_cc.status_code == 403 and "only Customer Care" in not_cc.json()["error"]
    assert not_a_phone_action.status_code == 403
    assert not_a_contact.status_code == 403 and "not a contact" in not_a_contact.json()["error"]
    assert escalated.status_code == 200, escalated.text
    feed = view.json()["feed"]
    assert any(e["actor"] == "globex-carol" and "2am" in e["text"] for e in feed)
    escalation = view.json()["escalations"][-1]
    assert escalation["channel"] == "phone" and escalation["recorded_by"] == "cc-dana"


async def test_actor_in_the_body_is_refused_and_nothing_is_sent(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    case_id = await desk.open(account_id="acme", contact_id="acme-alice")
    alice = bearer(key_for(store, "acme-alice"))
    async with door(store, desk, tmp_path) as http:
        claimed = await http.post(
            f"/v1/cases/{case_id}/actions/comment",
            json={"text": "I am Kara", "actor": "usc-kara"},
            headers=alice,
        )
        empty = await http.post(
            f"/v1/cases/{case_id}/actions/comment", json={"text": ""}, headers=alice
        )
        unknown = await http.post(f"/v1/cases/{case_id}/actions/fly", json={}, headers=alice)
        missing = await http.get("/v1/cases/case-999999", headers=alice)
        after = (await http.get(f"/v1/cases/{case_id}", headers=alice)).json()["feed"]
    assert claimed.status_code == 422
    assert "takes who acts" in claimed.json()["error"]
    assert empty.status_code == 422 and "text" in empty.json()["error"]
    assert unknown.status_code == 404 and "comment" in unknown.json()["error"]
    assert missing.status_code == 404 and "no case" in missing.json()["error"]
    assert not any("Kara" in e["text"] or e["kind"] == "comment" for e in after), after


async def test_a_case_refusing_an_action_answers_409_with_its_reason(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    case_id = await desk.open(account_id="acme", contact_id="acme-alice")
    carol = bearer(key_for(store, "globex-carol"))
    alice = bearer(key_for(store, "acme-alice"))
    async with door(store, desk, tmp_path) as http:
        other_account = await http.post(
            f"/v1/cases/{case_id}/actions/close", json={}, headers=alice | {}
        )
        peek = await http.get(f"/v1/cases/{case_id}", headers=carol)
        respond = await http.post(
            f"/v1/cases/{case_id}/actions/respond", json={"text": "hi"}, headers=alice
        )
    assert other_account.status_code == 200, other_account.text  # alice may close her own case
    assert peek.status_code == 403 and "not of acme" in peek.json()["error"]
    assert respond.status_code == 409, respond.text


async def test_a_restricted_case_is_withheld_from_a_non_member_and_every_read_is_audited(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    secret = "CANARY reactor coolant telemetry"
    case_id = await desk.open(
        account_id="cyberdyne", contact_id="cyberdyne-ivan", description=secret
    )
    erin = bearer(key_for(store, "gsc-erin"))
    kara = bearer(key_for(store, "usc-kara"))
    async with door(store, desk, tmp_path) as http:
        outsider = await http.get(f"/v1/cases/{case_id}", headers=erin)
        outsider_feed = await http.get(f"/v1/cases/{case_id}/feed", headers=erin)
        member = await http.get(f"/v1/cases/{case_id}", headers=kara)
        member_feed = await http.get(f"/v1/cases/{case_id}/feed?page_size=5", headers=kara)
    assert outsider.status_code == 200, outsider.text
    assert outsider.json()["content_withheld"] is True and secret not in outsider.text
    assert outsider_feed.json()["withheld"] is True and secret not in outsider_feed.text
    assert member.json()["description"] == secret
    assert member_feed.json()["withheld"] is False
    rows = store.audit.list(case_id=case_id)
    seen = {(r["principal"], r["action"], r["granted"], r["path"]) for r in rows}
    assert ("gsc-erin", "read", False, "api") in seen
    assert ("gsc-erin", "feed", False, "api") in seen
    assert ("usc-kara", "read", True, "api") in seen
    assert ("usc-kara", "feed", True, "api") in seen
    refused = store.audit.list(case_id=case_id, refused_only=True)
    assert all("restricted queue" in r["reason"] for r in refused) and refused


async def test_an_attachment_is_stored_and_referenced_and_an_oversized_one_refused(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    case_id = await desk.open(account_id="acme", contact_id="acme-alice")
    alice = bearer(key_for(store, "acme-alice"))
    async with door(store, desk, tmp_path, max_upload_bytes=1000) as http:
        sent = await http.post(
            f"/v1/cases/{case_id}/attachments",
            files={"file": ("ha.log", b"failover at 02:00\n" * 10, "text/plain")},
            data={"kind": "log"},
            headers=alice,
        )
        big = await http.post(
            f"/v1/cases/{case_id}/attachments",
            files={"file": ("big.log", b"x" * 5000, "text/plain")},
            headers=alice,
        )
        bad_kind = await http.post(
            f"/v1/cases/{case_id}/attachments",
            files={"file": ("a.bin", b"abc", "application/octet-stream")},
            data={"kind": "movie"},
            headers=alice,
        )
        view = await http.get(f"/v1/cases/{case_id}", headers=alice)
    assert sent.status_code == 200, sent.text
    assert "att-1" in sent.json()["message"]
    assert big.status_code == 413 and "1,000 bytes" in big.json()["error"]
    assert bad_kind.status_code == 422 and "kind" in bad_kind.json()["error"]
    assert [a["name"] for a in view.json()["attachments"]] == ["ha.log"]
    stored = [p for p in (tmp_path / "state" / "attachments").rglob("*") if p.is_file()]
    assert [p for p in stored if p.read_bytes() == b"failover at 02:00\n" * 10] != []
    assert not [p for p in stored if p.name.startswith(".upload-")], "no partial upload left"


async def test_temporal_not_answering_in_time_is_a_503_that_says_so(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    slow = Door(
        store=store,
        client=desk.client,
        task_queue="tq-x",
        attachments=AttachmentStore(tmp_path),
        answer_timeout=0.05,
    )
    with pytest.raises(DoorError) as refused:
        await slow.answered(asyncio.Event().wait(), "the view of case-000001")  # never answers
    assert refused.value.status == 503
    assert "no answer to the view of case-000001" in refused.value.message
    assert "'tq-x'" in refused.value.message


def test_a_partner_engineer_opens_partner_cases_for_their_own_partner_only() -> None:
    nora = Identity(id="nw-nora", kind="partner_engineer", name="Nora", partner="northwind-it")
    fields = open_fields(nora, {"account_id": "soylent", "contact_id": "soylent-sam"})
    assert fields["channel"] == "partner" and fields["partner_id"] == "northwind-it"
    with pytest.raises(Refused, match="northwind-it only"):
        open_fields(nora, {"account_id": "soylent", "partner_id": "other-partner"})
    with pytest.raises(Refused, match="channel partner"):
        open_fields(nora, {"channel": "web"})
    erin = Identity(id="gsc-erin", kind="engineer", name="Erin", level="L1")
    with pytest.raises(Refused, match="an L1 engineer"):
        open_fields(erin, {"account_id": "acme"})
