"""The attachment store (casework.attachments): whether it holds the file a case references."""

from __future__ import annotations

from temporalio import activity

from casework.attachments import AttachmentStore
from casework.contracts import CHECK_ATTACHMENT, AttachmentCheck, AttachmentStatus


class AttachmentActivities:
    """`files`: the engine's attachment store. None (a worker started without one, as some
    tests and benchmarks build it): no file is there, so every attach is refused, saying why."""

    def __init__(self, files: AttachmentStore | None) -> None:
        self.files = files

    @activity.defn(name=CHECK_ATTACHMENT)
    def check_attachment(self, check: AttachmentCheck) -> AttachmentStatus:
        """U5: a case references only a file its store holds; otherwise the reason, which says
        how to attach a file."""
        if self.files is None:
            return AttachmentStatus(
                stored=False,
                reason="this engine's worker runs without an attachment store, so it holds no "
                "file; start the worker with the state folder's attachment store",
            )
        if self.files.exists(check.sha256):
            return AttachmentStatus(stored=True)
        return AttachmentStatus(
            stored=False,
            reason=f"there is no file {check.sha256} in the attachment store, so nobody could "
            "open it; attach a file with `casework attach <case> <file>` (or the Case Center), "
            "which stores it first",
        )
