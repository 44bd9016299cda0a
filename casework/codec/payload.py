"""The payload codec: every payload Temporal keeps is encrypted with AES-256-GCM (U5).

A workflow's realm (`casework.codec.realm`) picks the key: the ring's active `payload` key for
an ordinary case, its active `restricted` key for a US Citizen Support case and its intake. The
realm comes from the serialization context's workflow id (the SDK hands the codec a copy per
workflow through `with_context`) and the `lookup` the codec is given (the store's
`case_realms`); answers are cached, since a realm never changes. No realm on record (or no
workflow id at all): restricted, account unknown (fail closed).

An encrypted payload:

| metadata | value |
|---|---|
| `encoding` | `binary/encrypted` |
| `encryption-key-id` | the key's id: decoding picks the key by it (rotated keys stay) |
| `casework-realm` | `ordinary` or `restricted` |
| `casework-account` | the account id, for a restricted payload whose account is known |

`data` is nonce + AES-GCM of the whole original Payload (its metadata too); the key id, realm and
account are authenticated with it, so relabelling a payload (to pass it off as another
account's, for the codec server) breaks it. A payload that is not `binary/encrypted` (histories
recorded before encryption) passes through decoding unchanged.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import time
import typing
from collections.abc import Callable, Sequence
from typing import Any, Self

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from casework.codec.crypto import DecryptionError, decrypt, encrypt, key_for
from casework.codec.realm import UNKNOWN, Realm, realm_parent
from casework.identity.keyring import KeyRing

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
REALM = "casework-realm"
ACCOUNT = "casework-account"
CACHED_REALMS = 50_000
"""Realms kept in memory per codec; past it the cache starts over (a realm is one small
query)."""
MISS_SECONDS = 2.0
"""How long a workflow with no realm is not asked about again (RealmCache)."""

RealmLookup = Callable[[str], Realm | None]
"""The realm registered for a workflow id, or None; may do I/O (it runs in a thread)."""


class CodecError(Exception):
    """A payload cannot be decoded: an unknown key id, or a payload that was altered."""


def labels(payload: Payload) -> Realm | None:
    """The realm an encrypted payload says it is in; None for a payload that is not encrypted."""
    if payload.metadata.get("encoding") != ENCODING:
        return None
    account = payload.metadata.get(ACCOUNT)
    return Realm(
        restricted=payload.metadata.get(REALM) != b"ordinary",
        account_id=account.decode() if account else None,
    )


def _context(realm: Realm) -> bytes:
    return f"|{realm.name}|{realm.account_id or ''}".encode()


def encrypt_payload(ring: KeyRing, realm: Realm, payload: Payload) -> Payload:
    if not realm.restricted:
        realm = Realm(restricted=False)  # an ordinary payload is labelled with its realm only
    key = ring.active("restricted" if realm.restricted else "payload")
    metadata = {
        "encoding": ENCODING,
        KEY_ID: key.id.encode(),
        REALM: realm.name.encode(),
    }
    if realm.restricted and realm.account_id:
        metadata[ACCOUNT] = realm.account_id.encode()
    data = encrypt(key, payload.SerializeToString(), _context(realm))
    return Payload(metadata=metadata, data=data)


def decrypt_payload(ring: KeyRing, payload: Payload) -> Payload:
    """The original payload; a payload that is not encrypted is returned as it is."""
    realm = labels(payload)
    if realm is None:
        return payload
    key_id = payload.metadata.get(KEY_ID, b"").decode()
    if not key_id:
        raise CodecError("an encrypted payload has no encryption-key-id")
    try:
        key = key_for(ring, key_id)
        plain = decrypt(key, payload.data, _context(realm))
    except DecryptionError as e:
        raise CodecError(f"payload cannot be decrypted: {e}") from None
    original = Payload()
    original.ParseFromString(plain)
    return original


class RealmCache:
    """Realms found, shared by every copy of one codec. A miss is kept for MISS_SECONDS only:
    a workflow's realm is registered before it starts (the intake registers its case's, the
    door its intakes'), so a miss is a workflow that has none (an intake opened from the CLI,
    the relay) and is asked again for every payload it writes; a realm registered within the
    window of an earlier miss is seen once the window ends, and until then the payload is
    sealed as UNKNOWN, which is the stricter realm (fail closed)."""

    def __init__(self, lookup: RealmLookup, clock: Callable[[], float] = time.monotonic) -> None:
        self.lookup = lookup
        self.clock = clock
        self.found: dict[str, Realm] = {}
        self.missed: dict[str, float] = {}
        """Workflow id -> when its miss may be asked again."""

    async def realm_of(self, workflow_id: str | None) -> Realm:
        if not workflow_id:
            return UNKNOWN
        for candidate in (workflow_id, realm_parent(workflow_id)):
            if candidate is None:
                continue
            realm = self.found.get(candidate)
            if realm is None:
                if self.missed.get(candidate, 0.0) > self.clock():
                    continue
                realm = await asyncio.to_thread(self.lookup, candidate)
                if realm is None:
                    if len(self.missed) >= CACHED_REALMS:
                        self.missed.clear()
                    self.missed[candidate] = self.clock() + MISS_SECONDS
                    continue
                if len(self.found) >= CACHED_REALMS:
                    self.found.clear()
                self.found[candidate] = realm
            if candidate != workflow_id:
                self.found[workflow_id] = realm
            return realm
        return UNKNOWN


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    def __init__(
        self,
        ring: KeyRing,
        lookup: RealmLookup | RealmCache,
        *,
        workflow_id: str | None = None,
    ) -> None:
        self.ring = ring
        self.realms = lookup if isinstance(lookup, RealmCache) else RealmCache(lookup)
        self.workflow_id = workflow_id

    def with_context(self, context: SerializationContext) -> Self:
        workflow_id = None
        if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
            workflow_id = context.workflow_id
        return type(self)(self.ring, self.realms, workflow_id=workflow_id)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        realm = await self.realms.realm_of(self.workflow_id)
        return [encrypt_payload(self.ring, realm, p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [decrypt_payload(self.ring, p) for p in payloads]


CACHED_CONTEXTS = 4_096
"""Converters with a workflow's context kept per data converter (a few hundred bytes each); past
it the cache starts over."""


@dataclasses.dataclass(frozen=True)
class EncryptingDataConverter(DataConverter):
    """The SDK's DataConverter, made cheaper to give a context: the worker asks for a copy with
    the workflow's context for every payload of every command and activation, and the SDK's
    copy (`dataclasses.replace`) rebuilds the pydantic payload converter each time (a tenth
    of the worker's CPU). Only the codec depends on the context, and only on its workflow id
    (the realm): this copies the converter as it is, swaps the codec, and keeps the copy for
    the next payload of the same workflow."""

    _by_workflow: dict[str, DataConverter] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Copies by workflow id, shared with every copy (each answers the same for an id)."""

    def with_context(self, context: SerializationContext) -> Self:
        workflow_id = None
        if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
            workflow_id = context.workflow_id
        if workflow_id is not None:
            known = self._by_workflow.get(workflow_id)
            if known is not None:
                return typing.cast(Self, known)
        parts: dict[str, Any] = {
            "payload_converter": self.payload_converter,
            "payload_codec": self.payload_codec,
            "failure_converter": self.failure_converter,
            "external_storage": self.external_storage,
        }
        changed = {
            name: part.with_context(context)
            for name, part in parts.items()
            if isinstance(part, WithSerializationContext)
        }
        changed = {name: part for name, part in changed.items() if part is not parts[name]}
        clone = copy.copy(self) if changed else self
        for name, part in changed.items():
            object.__setattr__(clone, name, part)
        if workflow_id is not None:
            if len(self._by_workflow) >= CACHED_CONTEXTS:
                self._by_workflow.clear()
            self._by_workflow[workflow_id] = clone
        return clone


class SharedPayloadConverter(PydanticPayloadConverter):
    """The pydantic payload converter, built once: the worker builds a DataConverter (and with
    it a payload converter and its cache of type adapters) twice for every workflow activation
    only to reach the codec. Its parts keep no state but that cache (thread safe), and none
    depends on a serialization context, so one instance serves every copy."""

    _shared: typing.ClassVar[SharedPayloadConverter | None] = None

    def __new__(cls) -> SharedPayloadConverter:
        if cls._shared is None:
            shared = super().__new__(cls)
            PydanticPayloadConverter.__init__(shared)
            cls._shared = shared
        return cls._shared

    def __init__(self) -> None:
        """Built once, in __new__."""

    def with_context(self, context: SerializationContext) -> Self:
        return self


def data_converter(ring: KeyRing, lookup: RealmLookup) -> DataConverter:
    """The pydantic data converter with every payload encrypted, and failures' messages and
    stack traces moved into an (encrypted) payload instead of plain failure fields."""
    return EncryptingDataConverter(
        payload_converter_class=SharedPayloadConverter,
        payload_codec=EncryptionCodec(ring, lookup),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
