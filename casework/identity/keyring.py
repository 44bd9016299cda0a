"""The engine's secret keys, with key ids, so keys rotate without breaking old histories.

Three purposes:

| purpose | used for |
|---|---|
| `signing` | HMAC-SHA256 of the tokens the door signs for a principal (`tokens`) |
| `payload` | AES-256-GCM of every payload Temporal keeps for an ordinary case |
| `restricted` | AES-256-GCM of a US Citizen Support case's payloads, files and rows (U5) |

Each purpose has one active key (the newest) that encrypts and signs; older keys stay in the
ring to decrypt and verify what they made (`rotate`). A key is never removed while a history,
file or row may still need it.

Where the ring comes from (`load_keyring`; the variables are casework.settings'), first match
wins:
1. `CASEWORK_KEYRING`: the ring's JSON itself, e.g. injected from a secret manager (Vault,
   AWS Secrets Manager, Kubernetes secret as an environment variable);
2. `CASEWORK_KEYRING_FILE`: a path to that JSON;
3. `<state>/keyring.json`, made on first use with mode 0600.
Every process of one deployment (door, workers, codec server) must load the same ring.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from casework.settings import environment

Purpose = Literal["signing", "payload", "restricted"]
PURPOSES: tuple[Purpose, ...] = ("signing", "payload", "restricted")
KEY_BYTES = 32
MAX_KEYS = 200
"""Bound on a ring's size: rotating weekly for years stays far below it."""


class KeyRingError(Exception):
    """The ring cannot be read or lacks a key; the message says which and how to fix it."""


@dataclass(frozen=True)
class Key:
    id: str
    purpose: Purpose
    secret: bytes = field(repr=False)
    created: datetime


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[Key, ...]
    source: str = "memory"

    def active(self, purpose: Purpose) -> Key:
        candidates = [k for k in self.keys if k.purpose == purpose]
        if not candidates:
            raise KeyRingError(
                f"the key ring ({self.source}) has no {purpose} key: add one with "
                "`casework keyring rotate`"
            )
        return max(candidates, key=lambda k: (k.created, k.id))

    def get(self, key_id: str) -> Key | None:
        return next((k for k in self.keys if k.id == key_id), None)

    def rotated(self, purpose: Purpose) -> KeyRing:
        """A ring with a new active key for `purpose`; the old ones stay to decrypt/verify."""
        if len(self.keys) >= MAX_KEYS:
            raise KeyRingError(f"the key ring holds {MAX_KEYS} keys already; retire old ones")
        return KeyRing((*self.keys, new_key(purpose)), self.source)

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": 1,
                "keys": [
                    {
                        "id": k.id,
                        "purpose": k.purpose,
                        "secret": base64.b64encode(k.secret).decode(),
                        "created": k.created.isoformat(),
                    }
                    for k in self.keys
                ],
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str, source: str) -> KeyRing:
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
                raise ValueError('expected {"version": 1, "keys": [...]}')
            keys = []
            for item in data["keys"][: MAX_KEYS + 1]:
                purpose = item["purpose"]
                if purpose not in PURPOSES:
                    raise ValueError(f"key {item.get('id')!r}: purpose must be one of {PURPOSES}")
                secret = base64.b64decode(item["secret"], validate=True)
                if len(secret) != KEY_BYTES:
                    raise ValueError(f"key {item['id']!r}: a secret is {KEY_BYTES} bytes")
                created = datetime.fromisoformat(item["created"])
                keys.append(Key(str(item["id"]), purpose, secret, created))
            if len(keys) > MAX_KEYS:
                raise ValueError(f"more than {MAX_KEYS} keys")
            if len({k.id for k in keys}) != len(keys):
                raise ValueError("two keys share an id")
        except (ValueError, KeyError, TypeError) as e:
            raise KeyRingError(f"the key ring ({source}) cannot be read: {e}") from None
        return cls(tuple(keys), source)


def new_key(purpose: Purpose) -> Key:
    now = datetime.now(UTC)
    key_id = f"{purpose[:3]}-{now:%Y%m%d}-{secrets.token_hex(4)}"
    return Key(key_id, purpose, secrets.token_bytes(KEY_BYTES), now)


def fresh_ring(source: str = "memory") -> KeyRing:
    return KeyRing(tuple(new_key(p) for p in PURPOSES), source)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def load_keyring(
    state_dir: Path, env: Mapping[str, str] | None = None, *, create: bool = False
) -> KeyRing:
    """The deployment's ring (module docstring); with `create`, the state folder's ring is
    made on first use."""
    found = environment(env)
    if found.keyring is not None:
        return KeyRing.from_json(found.keyring, "CASEWORK_KEYRING")
    path = found.keyring_file or state_dir / "keyring.json"
    if not path.exists():
        if not create:
            raise KeyRingError(
                f"there is no key ring at {path}: start the engine once (`casework up`) to "
                "make one, or set CASEWORK_KEYRING_FILE / CASEWORK_KEYRING"
            )
        ring = fresh_ring(str(path))
        write_private(path, ring.to_json())
        return ring
    ring = KeyRing.from_json(path.read_text(), str(path))
    for purpose in PURPOSES:  # a ring from an older engine gains the keys it lacks
        if not any(k.purpose == purpose for k in ring.keys) and create:
            ring = ring.rotated(purpose)
            write_private(path, ring.to_json())
    return ring


def save_keyring(ring: KeyRing, path: Path) -> None:
    write_private(path, ring.to_json())
