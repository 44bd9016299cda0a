"""The payload codec and sealed rows on their own (casework.codec): what is encrypted with which
key, what a rotated ring still opens, and what it refuses to open."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext

from casework.codec import CodecError, DecryptionError, Realm, data_converter, seal, unseal
from casework.codec.crypto import CHUNK_BYTES, decrypt_file, encrypt_file
from casework.codec.payload import ACCOUNT, KEY_ID, MISS_SECONDS, REALM, RealmCache
from casework.codec.realm import UNKNOWN
from casework.identity.keyring import fresh_ring
from casework.store import Store

CANARY = "CANARY-7f3a-the-customer-said-this"
RING = fresh_ring()
REALMS = {
    "case-000001": Realm(restricted=True, account_id="cyberdyne"),
    "case-000002": Realm(restricted=False, account_id="acme"),
}


def converter_for(workflow_id: str | None, ring=RING):  # type: ignore[no-untyped-def]
    converter = data_converter(ring, REALMS.get)
    if workflow_id is None:
        return converter
    return converter.with_context(
        WorkflowSerializationContext(namespace="default", workflow_id=workflow_id)
    )


async def encoded(workflow_id: str | None, value: object = CANARY) -> Payload:
    [payload] = await converter_for(workflow_id).encode([value])
    return payload


async def test_a_restricted_case_is_encrypted_with_the_restricted_key() -> None:
    payload = await encoded("case-000001")
    assert CANARY.encode() not in payload.SerializeToString()
    assert payload.metadata["encoding"] == b"binary/encrypted"
    assert payload.metadata[KEY_ID] == RING.active("restricted").id.encode()
    assert payload.metadata[REALM] == b"restricted"
    assert payload.metadata[ACCOUNT] == b"cyberdyne"
    assert await converter_for("case-000001").decode([payload], [str]) == [CANARY]


async def test_an_ordinary_case_is_encrypted_with_the_payload_key_and_names_no_account() -> None:
    payload = await encoded("case-000002")
    assert CANARY.encode() not in payload.SerializeToString()
    assert payload.metadata[KEY_ID] == RING.active("payload").id.encode()
    assert payload.metadata[REALM] == b"ordinary"
    assert ACCOUNT not in payload.metadata


@pytest.mark.parametrize("workflow_id", ["intake-req-unregistered", None])
async def test_a_workflow_without_a_realm_is_restricted_without_an_account(
    workflow_id: str | None,
) -> None:
    """Fail closed: only the restricted queue can read it through the codec server."""
    payload = await encoded(workflow_id)
    assert payload.metadata[REALM] == b"restricted"
    assert ACCOUNT not in payload.metadata


async def test_a_miss_is_asked_again_only_after_a_short_while() -> None:
    """A workflow with no realm is not looked up for every payload it writes (issue 12); one
    registered after a miss is found once the miss's window ends, and meanwhile its payloads
    are sealed as the stricter realm (fail closed)."""
    asked: list[str] = []
    registered: dict[str, Realm] = {}
    now = [100.0]

    def lookup(workflow_id: str) -> Realm | None:
        asked.append(workflow_id)
        return registered.get(workflow_id)

    cache = RealmCache(lookup, clock=lambda: now[0])
    for _ in range(5):
        assert await cache.realm_of("intake-req-1") == UNKNOWN
    assert asked == ["intake-req-1"]
    registered["intake-req-1"] = Realm(restricted=False, account_id="acme")
    assert await cache.realm_of("intake-req-1") == UNKNOWN  # within the window: stricter
    now[0] += MISS_SECONDS + 0.1
    assert await cache.realm_of("intake-req-1") == Realm(restricted=False, account_id="acme")
    assert await cache.realm_of("intake-req-1") == Realm(restricted=False, account_id="acme")
    assert asked == ["intake-req-1", "intake-req-1"]


async def test_a_vendor_escalation_is_in_its_case_realm() -> None:
    payload = await encoded("case-000001-esc-1")
    assert payload.metadata[ACCOUNT] == b"cyberdyne"


async def test_an_activity_of_a_restricted_case_is_restricted() -> None:
    context = ActivitySerializationContext(
        namespace="default",
        activity_id="1",
        activity_type="record_feed",
        activity_task_queue="q",
        workflow_id="case-000001",
        workflow_type="Case",
        is_local=False,
    )
    [payload] = await data_converter(RING, REALMS.get).with_context(context).encode([CANARY])
    assert payload.metadata[REALM] == b"restricted"


async def test_rotated_keys_still_open_old_payloads_and_new_ones_use_the_new_key() -> None:
    old = await encoded("case-000001")
    rotated = RING.rotated("restricted").rotated("payload")
    assert await converter_for("case-000001", rotated).decode([old], [str]) == [CANARY]
    [new] = await converter_for("case-000001", rotated).encode([CANARY])
    assert new.metadata[KEY_ID] == rotated.active("restricted").id.encode()
    assert new.metadata[KEY_ID] != old.metadata[KEY_ID]


async def test_an_unknown_key_id_is_a_clear_error() -> None:
    payload = await encoded("case-000001")
    with pytest.raises(CodecError, match="not in the key ring"):
        await converter_for("case-000001", fresh_ring()).decode([payload], [str])


async def test_a_relabelled_payload_does_not_decrypt() -> None:
    """Passing a restricted payload off as another account's (to its contacts at the codec
    server) breaks it: the labels are authenticated with the ciphertext."""
    payload = await encoded("case-000001")
    payload.metadata[ACCOUNT] = b"acme"
    with pytest.raises(CodecError, match="does not verify"):
        await converter_for("case-000001").decode([payload], [str])


async def test_a_plain_payload_passes_through_decoding() -> None:
    """Histories recorded before encryption still replay."""
    [plain] = data_converter(RING, REALMS.get).payload_converter.to_payloads([CANARY])
    assert await converter_for("case-000001").decode([plain], [str]) == [CANARY]


async def test_failure_messages_are_encrypted() -> None:
    from temporalio.api.failure.v1 import Failure
    from temporalio.exceptions import ApplicationError

    failure = Failure()
    await converter_for("case-000001").encode_failure(ApplicationError(CANARY), failure)
    assert CANARY.encode() not in failure.SerializeToString()
    error = await converter_for("case-000001").decode_failure(failure)
    assert CANARY in str(error)


def test_a_sealed_text_opens_with_a_rotated_ring_and_plain_text_is_left_alone() -> None:
    sealed = seal(RING, CANARY)
    assert CANARY not in sealed and sealed.startswith("enc:v1:")
    assert unseal(RING.rotated("restricted"), sealed) == CANARY
    assert unseal(RING, "a note from before sealing") == "a note from before sealing"
    with pytest.raises(DecryptionError, match="not in the key ring"):
        unseal(fresh_ring(), sealed)


@pytest.mark.parametrize("size", [0, 10, CHUNK_BYTES, CHUNK_BYTES * 2 + 5])
def test_a_file_round_trips_in_chunks(size: int) -> None:
    plain = (CANARY.encode() * (size // len(CANARY) + 1))[:size]
    encrypted = io.BytesIO()
    encrypt_file(RING.active("restricted"), io.BytesIO(plain), encrypted)
    assert size < len(CANARY) or CANARY.encode() not in encrypted.getvalue()
    out = io.BytesIO()
    decrypt_file(RING, io.BytesIO(encrypted.getvalue()), out)
    assert out.getvalue() == plain


def test_a_truncated_file_is_refused() -> None:
    encrypted = io.BytesIO()
    encrypt_file(RING.active("restricted"), io.BytesIO(b"x" * (CHUNK_BYTES + 10)), encrypted)
    cut = encrypted.getvalue()[: -(10 + 12 + 16 + 4)]  # the last chunk dropped
    with pytest.raises(DecryptionError, match="truncated"):
        decrypt_file(RING, io.BytesIO(cut), io.BytesIO())


def test_the_store_registers_a_realm_once(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'casework.db'}")
    assert store.realms.lookup("case-000009") is None
    first = store.realms.register("case-000009", "cyberdyne", True)
    again = store.realms.register("case-000009", "acme", False)  # a retry never changes it
    assert first == again == Realm(restricted=True, account_id="cyberdyne")
    assert store.realms.lookup("case-000009") == first
    store.dispose()
