"""The attachment store: files (logs, configuration) kept outside workflow history (U5).

A case keeps only a reference to each file (`Attachment`: name, kind, sha256, size); the bytes
live here, content-addressed under `<state>/attachments/` (the embedded default): the file
whose SHA-256 is `ab12...` is `<root>/ab/ab12...`. Storing the same content twice stores it
once. Files are copied in chunks, never read whole into memory, and appear under their final
name only when complete (written to a temporary file beside it, then renamed), so a reader
never sees half a log.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import NamedTuple

from casework.settings import Settings

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

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def for_settings(cls, settings: Settings) -> AttachmentStore:
        """The embedded default: `<state>/attachments/`."""
        return cls(settings.state_dir / FOLDER)

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

    def put(self, source: Path) -> StoredFile:
        """Copy `source` into the store; returns its SHA-256, size and stored path."""
        source = self.check(source)
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        handle, temporary = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        try:
            with source.open("rb") as reader, os.fdopen(handle, "wb") as writer:
                while chunk := reader.read(CHUNK_BYTES):
                    digest.update(chunk)
                    writer.write(chunk)
                    size += len(chunk)
            sha256 = digest.hexdigest()
            target = self.path_for(sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_file():
                os.unlink(temporary)  # the same content is stored already
            else:
                os.replace(temporary, target)
        except OSError as e:
            Path(temporary).unlink(missing_ok=True)
            raise AttachmentRefused(
                f"{source} could not be stored in {self.root}: {e.strerror or e}"
            ) from None
        return StoredFile(sha256=sha256, size=size, path=target)
