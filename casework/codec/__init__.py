"""Restricted content, encrypted wherever Temporal and casework keep it (issue 10, U5).

- `data_converter(ring, lookup)`: the converter of every client, worker and replayer: pydantic
  payloads, each encrypted (`payload`), failures' messages inside the encrypted payloads.
- `seal` / `unseal`: a database row's text under the restricted key (`crypto`).
- `server.codec_router(...)`: the remote codec HTTP protocol for the Web UI and the `temporal`
  CLI, which decodes only for a caller allowed to read (`access`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from casework.codec.crypto import DecryptionError, is_sealed, seal, unseal
    from casework.codec.payload import (
        CodecError,
        EncryptionCodec,
        RealmLookup,
        data_converter,
        decrypt_payload,
        encrypt_payload,
    )
    from casework.codec.realm import UNKNOWN, Realm, realm_parent

_WHERE = {
    "DecryptionError": "crypto",
    "is_sealed": "crypto",
    "seal": "crypto",
    "unseal": "crypto",
    "CodecError": "payload",
    "EncryptionCodec": "payload",
    "RealmLookup": "payload",
    "data_converter": "payload",
    "decrypt_payload": "payload",
    "encrypt_payload": "payload",
    "UNKNOWN": "realm",
    "Realm": "realm",
    "realm_parent": "realm",
}
__all__ = [
    "UNKNOWN",
    "CodecError",
    "DecryptionError",
    "EncryptionCodec",
    "Realm",
    "RealmLookup",
    "data_converter",
    "decrypt_payload",
    "encrypt_payload",
    "is_sealed",
    "realm_parent",
    "seal",
    "unseal",
]


def __getattr__(name: str) -> Any:
    """Imported when first used: the store needs `Realm` without loading Temporal's SDK (the
    CLI's start-up time)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'casework.codec' has no attribute {name!r}")
    return getattr(import_module(f"casework.codec.{_WHERE[name]}"), name)
