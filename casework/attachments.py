"""The attachment store: files (logs, configuration) kept outside workflow history (U5).

A case keeps only a reference to each file (`Attachment`: name, kind, sha256, size); the bytes
live here, content-addressed under `<state>/attachments/` (the embedded default): the file
whose SHA-256 is `ab12...` is `<root>/ab/ab12...`. Storing the same content twice stores it
once. Files are copied in chunks, never read whole into memory, and appear under their final
name only when complete (written to a temporary file beside it, then renamed), so a reader
never sees half a log.

U5: a US Citizen Support case's files are encrypted at rest (`put(..., restricted=True)`) with
the ring's restricted key, in chunks (`casework.codec.crypto.encrypt_file`); they are still
named by the SHA-256 of their plaintext, which is what the case records. `copy_out` gives the
plaintext back to a reader with the ring, whichever way the file is stored.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from casework.settings import Settings

if TYPE_CHECKING:
    from casework.identity.keyring import KeyRing

CHUNK_BYTES = 1 << 20
"""Bytes read and hashed at a time: a multi-gigabyte log needs no more memory than this."""
FOLDER = "attachments"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class AttachmentRefused(Exception):
    """The file cannot be stored (missing, a folder, unreadable); the message says which."""


class StoredFile(NamedTuple):
    sha256: str
    size: int
    path: Path


class AttachmentStore:
    """Content-addressed files under `root`."""

    def __init__(self, root: Path, ring: KeyRing | None = None) -> None:
        self.root = Path(root)
        self.ring = ring

    @classmethod
    def for_settings(cls, settings: Settings, ring: KeyRing | None = None) -> AttachmentStore:
        """The embedded default: `<state>/attachments/`."""
        return cls(settings.state_dir / FOLDER, ring)

    def path_for(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError(f"{sha256!r} is not a SHA-256 (64 lowercase hex digits)")
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return _SHA256.match(sha256) is not None and self.path_for(sha256).is_file()

    @staticmethod
    def check(source: Path) -> Path:
        """`source` if it is a file that can be stored; AttachmentRefused says why not."""
        source = Path(source)
        if not source.exists():
            raise AttachmentRefused(f"there is no file {source}: check the path")
        if not source.is_file():
            raise AttachmentRefused(f"{source} is not a file: name a file, not a folder")
        return source

    def put(self, source: Path, *, restricted: bool = False) -> StoredFile:
        """Copy `source` into the store; returns its SHA-256, size and stored path. U5: a
        restricted case's file is stored encrypted (and replaces a plain copy of the same
        content, so no plain copy of it stays)."""
        source = self.check(source)
        if restricted and self.ring is None:
            raise AttachmentRefused(
                "a US Citizen Support case's file is encrypted at rest, and the attachment "
                "store was opened without the key ring"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        try:
            with source.open("rb") as file, os.fdopen(handle, "wb") as writer:
                reader = _Hashing(file)
                if restricted and self.ring is not None:
                    from casework.codec.crypto import encrypt_file

                    encrypt_file(self.ring.active("restricted"), reader, writer)  # type: ignore[arg-type]
                else:
                    while chunk := reader.read(CHUNK_BYTES):
                        writer.write(chunk)
            sha256, size = reader.digest.hexdigest(), reader.size
            target = self.path_for(sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_file() and (self.is_encrypted(sha256) or not restricted):
                os.unlink(temporary)  # the same content is stored already
            else:
                os.replace(temporary, target)
        except OSError as e:
            Path(temporary).unlink(missing_ok=True)
            raise AttachmentRefused(
                f"{source} could not be stored in {self.root}: {e.strerror or e}"
            ) from None
        return StoredFile(sha256=sha256, size=size, path=target)

    def is_encrypted(self, sha256: str) -> bool:
        from casework.codec.crypto import FILE_MAGIC, is_encrypted_file

        with self.path_for(sha256).open("rb") as f:
            return is_encrypted_file(f.read(len(FILE_MAGIC)))

    def copy_out(self, sha256: str, writer: BinaryIO) -> None:
        """Write the stored file's plaintext to `writer` (decrypted with the ring if it is
        encrypted); AttachmentRefused if it is not stored, DecryptionError if it cannot be
        opened."""
        if not self.exists(sha256):
            raise AttachmentRefused(f"no file {sha256} in {self.root}")
        with self.path_for(sha256).open("rb") as reader:
            if self.is_encrypted(sha256):
                from casework.codec.crypto import DecryptionError, decrypt_file

                if self.ring is None:
                    raise DecryptionError(f"{sha256} is encrypted: open the store with the ring")
                decrypt_file(self.ring, reader, writer)
                return
            while chunk := reader.read(CHUNK_BYTES):
                writer.write(chunk)


class _Hashing:
    """A reader that hashes and counts what is read through it: the plaintext's SHA-256."""

    def __init__(self, reader: BinaryIO) -> None:
        self.reader = reader
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, count: int = -1) -> bytes:
        chunk = self.reader.read(count)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk
