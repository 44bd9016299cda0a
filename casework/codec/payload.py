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

Decoding never raises (issue 24). Anyone with access to the namespace can put a payload
labelled `binary/encrypted` into a case's history (a signal, an update, a query, a start, a
header), and a codec that raises there fails the workflow task, again and again: the case is
wedged. A payload that cannot be decrypted (no key id, a key id the ring lacks, altered or
random bytes, a plaintext that is not a payload) decodes to an *undecodable* payload instead:
encoding `binary/casework-undecodable`, data a short reason that names no secret. No converter
turns it into a value: the payload converter raises `UndecodablePayload` (a `CodecError`) with
the reason, which the SDK treats as a payload that does not convert (a signal's argument is
dropped, an update or a query is refused) and the case refuses on its feed where it takes the
payload raw (`workflows/case/signals.py`). The reasons are the codec's own: a payload that
arrives already labelled undecodable has its reason replaced, so a stranger cannot put words
in the case's mouth.
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
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    EncodingPayloadConverter,
    PayloadCodec,
    PayloadConverter,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from casework.codec.crypto import DecryptionError, decrypt, encrypt
from casework.codec.realm import UNKNOWN, Realm, realm_parent
from casework.identity.keyring import KeyRing

ENCODING = b"binary/encrypted"
UNDECODABLE = b"binary/casework-undecodable"
"""The encoding of what a payload that cannot be decrypted decodes to (module docstring)."""
MAX_KEY_ID_SHOWN = 64
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


class UndecodablePayload(CodecError):
    """Raised by the payload converter for an undecodable payload (module docstring); the
    message is the codec's reason."""


def labels(payload: Payload) -> Realm | None:
    """The realm an encrypted payload says it is in; None for a payload that is not encrypted.
    Labels that are not text (a stranger's) are read as far as they go: they then fail to
    authenticate, as any altered label does."""
    if payload.metadata.get("encoding") != ENCODING:
        return None
    account = payload.metadata.get(ACCOUNT)
    return Realm(
        restricted=payload.metadata.get(REALM) != b"ordinary",
        account_id=account.decode("utf-8", "replace") if account else None,
    )


def undecodable(reason: str) -> Payload:
    """What a payload that cannot be decrypted decodes to: no converter accepts it."""
    return Payload(metadata={"encoding": UNDECODABLE}, data=reason.encode())


def undecodable_reason(payload: Payload) -> str | None:
    """Why a payload did not decode, for an undecodable payload; None for any other."""
    if payload.metadata.get("encoding") != UNDECODABLE:
        return None
    return payload.data.decode("utf-8", "replace")


def _shown_key_id(key_id: str) -> str:
    """A key id as a reason may name it: a stranger's is bounded and made printable."""
    shown = "".join(c if c.isprintable() else "?" for c in key_id[:MAX_KEY_ID_SHOWN])
    return repr(shown) + ("..." if len(key_id) > MAX_KEY_ID_SHOWN else "")


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
    """The original payload; a payload that is not encrypted is returned as it is. CodecError,
    and only CodecError, saying why (in words that name no secret) for one that cannot be
    decrypted."""
    realm = labels(payload)
    if realm is None:
        return payload
    key_id = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
    if not key_id:
        raise CodecError("an encrypted payload has no encryption-key-id")
    key = ring.get(key_id)
    if key is None:
        raise CodecError(
            f"payload cannot be decrypted: encrypted with key {_shown_key_id(key_id)}, which is "
            "not in the key ring"
        )
    try:
        plain = decrypt(key, payload.data, _context(realm))
    except DecryptionError:
        raise CodecError(
            f"payload cannot be decrypted: it does not verify with key {key.id}: altered, "
            "relabelled, or not made by this engine"
        ) from None
    original = Payload()
    try:
        original.ParseFromString(plain)
    except Exception:  # protobuf's DecodeError, whatever the bytes make it raise
        raise CodecError("payload decrypts to something that is not a payload") from None
    return original


def decode_or_mark(ring: KeyRing, payload: Payload) -> Payload:
    """`decrypt_payload`, never raising: an undecodable payload (module docstring) for one that
    cannot be decrypted, and for one that came already labelled undecodable."""
    if payload.metadata.get("encoding") == UNDECODABLE:
        return undecodable(f"the payload came labelled {UNDECODABLE.decode()}")
    try:
        return decrypt_payload(ring, payload)
    except CodecError as e:
        return undecodable(str(e))
    except Exception as e:  # a codec that raises wedges the workflow: nothing may escape
        return undecodable(f"payload cannot be decoded ({type(e).__name__})")


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
        """Never raises (module docstring): the worker decodes headers and every payload of an
        activation with it before any workflow code can refuse anything."""
        return [decode_or_mark(self.ring, p) for p in payloads]


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


class RefuseUndecodable(EncodingPayloadConverter):
    """The converter of undecodable payloads (module docstring): it makes none, and refuses
    every one with the codec's reason."""

    @property
    def encoding(self) -> str:
        return UNDECODABLE.decode()

    def to_payload(self, value: Any) -> Payload | None:
        return None

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        raise UndecodablePayload(undecodable_reason(payload) or "the payload cannot be decoded")


class SharedPayloadConverter(PydanticPayloadConverter):
    """The pydantic payload converter, built once: the worker builds a DataConverter (and with
    it a payload converter and its cache of type adapters) twice for every workflow activation
    only to reach the codec. Its parts keep no state but that cache (thread safe), and none
    depends on a serialization context, so one instance serves every copy. It also knows the
    codec's undecodable payloads, to refuse them with their reason (`RefuseUndecodable`)."""

    _shared: typing.ClassVar[SharedPayloadConverter | None] = None

    def __new__(cls) -> SharedPayloadConverter:
        if cls._shared is None:
            shared = super().__new__(cls)
            PydanticPayloadConverter.__init__(shared)
            CompositePayloadConverter.__init__(
                shared, *shared.converters.values(), RefuseUndecodable()
            )
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


def in_the_clear(text: str) -> Any:
    """`text` as a JSON payload that no codec encrypts: Temporal's user metadata (a workflow's
    `static_summary`) given as a Payload is stored as given (the SDK encodes only a `str`;
    tests/test_web_ui_summary.py checks it still does), so the Web UI shows it with or without
    the codec. Only for text that carries nothing restricted
    (casework.domain.presentation.web_ui_summary). Typed Any: the SDK's signature says str."""
    return PayloadConverter.default.to_payload(text)
