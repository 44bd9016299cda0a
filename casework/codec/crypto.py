"""AES-256-GCM with the key ring's keys: sealed strings for database rows, and files.

Every ciphertext names the id of the key that made it, so a rotated ring still opens what an
older key sealed (`KeyRing.get`); the key id is authenticated with it (associated data), so a
ciphertext cannot be passed off as another key's.

- `seal(ring, text)` -> `"enc:v1:<kid>:<base64(nonce + ciphertext)>"`, `unseal(ring, value)`:
  text that does not start with `enc:v1:` is returned as it is (rows written before sealing).
- `encrypt_file` / `decrypt_file`: a header naming the key, then chunks of at most CHUNK_BYTES,
  each with its own nonce and its position (and whether it is the last) in the associated
  data, so a file cannot be truncated, reordered or spliced without the reader noticing.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from casework.identity.keyring import Key, KeyRing

NONCE_BYTES = 12
SEALED_PREFIX = "enc:v1:"
FILE_MAGIC = b"CWENC1\n"
CHUNK_BYTES = 1 << 20
"""Plaintext bytes per encrypted chunk: a multi-gigabyte log needs no more memory than this."""
MAX_KEY_ID = 200


class DecryptionError(Exception):
    """A ciphertext cannot be opened; the message says why (an unknown key, tampering)."""


def key_for(ring: KeyRing, key_id: str) -> Key:
    key = ring.get(key_id)
    if key is None:
        raise DecryptionError(
            f"encrypted with key {key_id!r}, which is not in the key ring ({ring.source}): "
            "load the ring that made it (CASEWORK_KEYRING_FILE / CASEWORK_KEYRING); keys are "
            "never removed while anything they encrypted is kept"
        )
    return key


def encrypt(key: Key, plaintext: bytes, context: bytes = b"") -> bytes:
    """nonce + AES-256-GCM(plaintext), authenticating the key id and `context`."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key.secret).encrypt(nonce, plaintext, key.id.encode() + context)


def decrypt(key: Key, sealed: bytes, context: bytes = b"") -> bytes:
    if len(sealed) < NONCE_BYTES + 16:
        raise DecryptionError(f"a ciphertext of key {key.id} is too short to be one")
    try:
        return AESGCM(key.secret).decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], key.id.encode() + context
        )
    except InvalidTag:
        raise DecryptionError(
            f"a ciphertext of key {key.id} does not verify: it was altered, or its labels "
            "(key id, realm, account) were changed"
        ) from None


def seal(ring: KeyRing, text: str) -> str:
    """`text` encrypted with the ring's active restricted key (U5), as one line of text."""
    key = ring.active("restricted")
    body = base64.b64encode(encrypt(key, text.encode())).decode()
    return f"{SEALED_PREFIX}{key.id}:{body}"


def is_sealed(value: str) -> bool:
    return value.startswith(SEALED_PREFIX)


def unseal(ring: KeyRing, value: str) -> str:
    """The text `seal` sealed; text that was never sealed is returned as it is."""
    if not is_sealed(value):
        return value
    key_id, _, body = value[len(SEALED_PREFIX) :].partition(":")
    if not body:
        raise DecryptionError("a sealed value lacks its key id or body: enc:v1:<kid>:<base64>")
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionError(f"a sealed value of key {key_id!r} is not base64") from None
    return decrypt(key_for(ring, key_id), raw).decode()


def encrypt_file(key: Key, reader: BinaryIO, writer: BinaryIO) -> None:
    kid = key.id.encode()
    writer.write(FILE_MAGIC + struct.pack(">H", len(kid)) + kid)
    index = 0
    chunk = reader.read(CHUNK_BYTES)
    while True:
        following = reader.read(CHUNK_BYTES)
        last = not following
        sealed = encrypt(key, chunk, struct.pack(">Q?", index, last))
        writer.write(struct.pack(">I", len(sealed)) + sealed)
        if last:
            return
        chunk, index = following, index + 1


def is_encrypted_file(head: bytes) -> bool:
    return head.startswith(FILE_MAGIC)


def decrypt_file(ring: KeyRing, reader: BinaryIO, writer: BinaryIO) -> None:
    """Write the plaintext of a file `encrypt_file` made; DecryptionError if it was altered,
    truncated, or made with a key the ring lacks."""
    if reader.read(len(FILE_MAGIC)) != FILE_MAGIC:
        raise DecryptionError("not an encrypted casework file")
    (size,) = struct.unpack(">H", _exactly(reader, 2))
    if size > MAX_KEY_ID:
        raise DecryptionError("an encrypted file's key id is longer than any key id")
    key = key_for(ring, _exactly(reader, size).decode())
    index = 0
    while True:
        header = reader.read(4)
        if not header:
            raise DecryptionError("an encrypted file ends before its last chunk: truncated")
        (length,) = struct.unpack(">I", _exactly(reader, 4, header))
        if length > CHUNK_BYTES + NONCE_BYTES + 16:
            raise DecryptionError("an encrypted file's chunk is larger than any chunk written")
        sealed = _exactly(reader, length)
        try:
            plain = decrypt(key, sealed, struct.pack(">Q?", index, False))
            last = False
        except DecryptionError:
            plain = decrypt(key, sealed, struct.pack(">Q?", index, True))
            last = True
        writer.write(plain)
        if last:
            if reader.read(1):
                raise DecryptionError("an encrypted file has bytes after its last chunk")
            return
        index += 1


def _exactly(reader: BinaryIO, count: int, start: bytes = b"") -> bytes:
    data = start + reader.read(count - len(start))
    if len(data) != count:
        raise DecryptionError("an encrypted file ends in the middle of a chunk: truncated")
    return data
