"""Previews of a case's files on the Case Center page (issue 26): images, PDFs and text, shown
in the browser to whoever may read the case's content (never to a non-member of a restricted
case, U5: the preview is a download, with `casework.door.center.download_for`'s checks).

Safe by construction: what a file is shown as follows from its name AND its first bytes (a PNG
must start as a PNG, a PDF as a PDF); an image is one of four raster formats (never SVG, which
can carry script), text is always `text/plain; charset=utf-8` (never HTML), and every answer is
`Content-Disposition: inline` with the file's name, `nosniff` and the door's strict policy
(`casework.door.headers`), so the browser shows it and runs nothing. Anything else has no
preview: it is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

IMAGES = {
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", (b"RIFF",)),
}
PDF = {".pdf": ("application/pdf", (b"%PDF-",))}
TEXT_SUFFIXES = frozenset(
    {".txt", ".log", ".cfg", ".conf", ".csv", ".json", ".yaml", ".yml", ".ini", ".out", ".text"}
)
TEXT_TYPE = "text/plain; charset=utf-8"
MAX_TEXT_PREVIEW_BYTES = 2 * 1024 * 1024
"""A text file larger than this is downloaded, not shown (a browser tab of 2 MB is enough)."""
SNIFF_BYTES = 16


def preview_kind(name: str) -> str | None:
    """`image`, `pdf` or `text` by the file's name; None: no preview."""
    suffix = Path(name).suffix.lower()
    if suffix in IMAGES:
        return "image"
    if suffix in PDF:
        return "pdf"
    if suffix in TEXT_SUFFIXES:
        return "text"
    return None


def preview_type(name: str, head: bytes, size: int) -> str | None:
    """The Content-Type to show the file as, if its name and first bytes agree; None if not."""
    suffix = Path(name).suffix.lower()
    known = IMAGES.get(suffix) or PDF.get(suffix)
    if known is not None:
        media, magics = known
        if not any(head.startswith(m) for m in magics):
            return None
        if suffix == ".webp" and head[8:12] != b"WEBP":
            return None
        return media
    if suffix in TEXT_SUFFIXES and size <= MAX_TEXT_PREVIEW_BYTES and b"\x00" not in head:
        return TEXT_TYPE
    return None


def inline_disposition(name: str) -> str:
    """`inline`, with the file's name (RFC 6266: an ASCII fallback and the UTF-8 name)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
