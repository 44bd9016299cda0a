"""The attachment store (U5: files stay outside workflow history; the case keeps a reference)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from casework import attachments
from casework.attachments import AttachmentRefused, AttachmentStore
from casework.settings import Settings


@pytest.fixture
def store(tmp_path: Path) -> AttachmentStore:
    return AttachmentStore(tmp_path / "state" / "attachments")


def a_file(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_a_file_is_stored_by_its_content(store: AttachmentStore, tmp_path: Path) -> None:
    data = b"2026-11-23 09:01:02 ike: negotiation failure\n" * 1000
    source = a_file(tmp_path, "ike.log", data)

    sha256, size, stored = store.put(source)

    assert sha256 == hashlib.sha256(data).hexdigest()
    assert size == len(data)
    assert stored == store.root / sha256[:2] / sha256 == store.path_for(sha256)
    assert stored.read_bytes() == data
    assert store.exists(sha256)
    assert source.read_bytes() == data  # copied, not moved


def test_the_same_content_is_stored_once(store: AttachmentStore, tmp_path: Path) -> None:
    first = store.put(a_file(tmp_path, "a.log", b"same bytes"))
    second = store.put(a_file(tmp_path, "b.log", b"same bytes"))
    assert first == second
    stored = [p for p in store.root.rglob("*") if p.is_file()]
    assert stored == [first.path]  # and no temporary file left behind


def test_a_large_file_is_copied_in_chunks_never_read_whole(
    store: AttachmentStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attachments, "CHUNK_BYTES", 4096)
    data = os.urandom(4096 * 25 + 17)
    source = a_file(tmp_path, "big.log", data)
    reads: list[int] = []
    real_open = Path.open

    class CountingReader:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def read(self, size: int = -1) -> bytes:
            reads.append(size)
            return bytes(self.handle.read(size))

        def __enter__(self) -> CountingReader:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

    def spying_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        handle = real_open(self, *args, **kwargs)
        return CountingReader(handle) if self == source else handle

    monkeypatch.setattr(Path, "open", spying_open)
    sha256, size, stored = store.put(source)

    assert (sha256, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert stored.read_bytes() == data
    assert reads and all(0 < n <= 4096 for n in reads)  # never read(-1): never the whole file
    assert len(reads) == 27  # 25 full chunks, the 17-byte tail, the empty read at the end


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: tmp / "missing.log", "there is no file"),
        (lambda tmp: tmp, "is not a file: name a file, not a folder"),
    ],
)
def test_what_is_not_a_file_is_refused_and_nothing_is_stored(
    store: AttachmentStore, tmp_path: Path, make: Any, says: str
) -> None:
    with pytest.raises(AttachmentRefused, match=says):
        store.put(make(tmp_path))
    assert not store.root.exists() or not any(store.root.rglob("*"))


def test_a_failed_copy_leaves_nothing_behind(
    store: AttachmentStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(attachments.os, "replace", disk_full)
    with pytest.raises(AttachmentRefused, match="could not be stored .*No space left on device"):
        store.put(a_file(tmp_path, "x.log", b"data"))
    assert not [p for p in store.root.rglob("*") if p.is_file()]
    assert not store.exists(hashlib.sha256(b"data").hexdigest())


def test_only_a_sha256_names_a_stored_file(store: AttachmentStore) -> None:
    assert not store.exists("ab" * 32)
    assert not store.exists("../../etc/passwd")
    with pytest.raises(ValueError, match="is not a SHA-256"):
        store.path_for("../../etc/passwd")


def test_the_embedded_default_is_under_the_state_folder(tmp_path: Path) -> None:
    settings = Settings.from_env(state_dir=tmp_path / "state")
    assert AttachmentStore.for_settings(settings).root == tmp_path / "state" / "attachments"
