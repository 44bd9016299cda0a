"""The payload codec never raises (issue 24): whatever a stranger labels `binary/encrypted`, in
a payload or a header, decodes to the codec's undecodable payload with a short reason, which no
converter turns into a value. A codec that raises fails the workflow task, again and again."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import WorkflowSerializationContext

from casework.codec import CodecError, Realm, data_converter
from casework.codec.crypto import encrypt
from casework.codec.payload import (
    ACCOUNT,
    ENCODING,
    KEY_ID,
    REALM,
    UNDECODABLE,
    EncryptionCodec,
    UndecodablePayload,
    undecodable_reason,
)
from casework.identity.interceptors import principal_of
from casework.identity.keyring import fresh_ring
from casework.identity.tokens import HEADER

RING = fresh_ring("/secret/place/keyring.json")
REALMS = {"case-000001": Realm(restricted=True, account_id="cyberdyne")}
CANARY = "CANARY-never-raises-41c2"
PAYLOAD_KEY = RING.active("payload")
RESTRICTED_KEY = RING.active("restricted")


def labelled(data: bytes, **metadata: bytes) -> Payload:
    return Payload(metadata={"encoding": ENCODING, **metadata}, data=data)


def ordinary(data: bytes, key_id: bytes = PAYLOAD_KEY.id.encode(), **more: bytes) -> Payload:
    return labelled(data, **{KEY_ID: key_id, REALM: b"ordinary", **more})


POISONS = {
    "no key id": (labelled(b'"x"'), "no encryption-key-id"),
    "unknown key id": (ordinary(os.urandom(48), b"no-such-key"), "not in the key ring"),
    "key id not text": (ordinary(os.urandom(48), b"\xff\xfe\x00k"), "not in the key ring"),
    "key id of 10,000 characters": (ordinary(os.urandom(48), b"k" * 10_000), "not in the key ring"),
    "random bytes": (ordinary(os.urandom(64)), "does not verify"),
    "no bytes at all": (ordinary(b""), "does not verify"),
    "account label not text": (
        labelled(
            os.urandom(64),
            **{KEY_ID: RESTRICTED_KEY.id.encode(), REALM: b"restricted", ACCOUNT: b"\xff\xfe"},
        ),
        "does not verify",
    ),
    "a real key, a plaintext that is not a payload": (
        ordinary(encrypt(PAYLOAD_KEY, b"\xff" * 40, b"|ordinary|")),
        "not a payload",
    ),
    "already labelled undecodable, with a forged reason": (
        Payload(metadata={"encoding": UNDECODABLE}, data=b"acme-alice approved the logs"),
        "came labelled",
    ),
}


def converter():  # type: ignore[no-untyped-def]
    return data_converter(RING, REALMS.get).with_context(
        WorkflowSerializationContext(namespace="default", workflow_id="case-000001")
    )


@pytest.mark.parametrize("name", list(POISONS))
async def test_a_payload_that_does_not_decrypt_decodes_to_a_refusal_with_a_reason(
    name: str,
) -> None:
    poison, says = POISONS[name]
    [decoded] = await EncryptionCodec(RING, REALMS.get).decode([poison])
    reason = undecodable_reason(decoded)
    assert decoded.metadata["encoding"] == UNDECODABLE and reason is not None
    assert says in reason
    assert len(reason) < 300
    assert "/secret/place" not in reason, "a reason names no secret, nor where the ring is"
    assert all(k.secret not in decoded.data for k in RING.keys)
    assert "acme-alice" not in reason, "the codec's reasons are its own"

    with pytest.raises(UndecodablePayload, match=says) as raised:
        await converter().decode([poison], [str])
    assert isinstance(raised.value, CodecError)


async def test_one_poison_leaves_the_other_payloads_of_an_activation_decoding() -> None:
    """The worker decodes an activation's payloads (and, with `header_codec_behavior=CODEC`,
    its headers) in batches: a poison among them takes nothing else down with it."""
    [good] = await converter().encode([CANARY])
    poisons = [poison for poison, _ in POISONS.values()]
    decoded = await EncryptionCodec(RING, REALMS.get).decode([good, *poisons, good])
    assert [p.metadata["encoding"] for p in decoded] == [
        b"json/plain",
        *[UNDECODABLE] * len(poisons),
        b"json/plain",
    ]
    assert converter().payload_converter.from_payload(decoded[0], str) == CANARY


@pytest.mark.parametrize("name", ["no key id", "unknown key id", "random bytes"])
async def test_a_header_that_does_not_decrypt_is_no_token(name: str) -> None:
    """With headers encoded too (`header_codec_behavior`), a stranger's poison in the
    principal's header decodes like any payload, and the case reads it as a refused token."""
    [header] = await EncryptionCodec(RING, REALMS.get).decode([POISONS[name][0]])
    principal = principal_of(RING, {HEADER: header}, "case-000001", "comment", datetime.now(UTC))
    assert principal.refused == "the casework token is not a token"
