"""The embedded SMTP sink of `casework up` (aiosmtpd): it keeps every mail it receives as a
file under `<state>/mail/`, so a newcomer sees what the engine sent (`casework mail`)."""

from __future__ import annotations

import itertools
import os
import socket
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

MAIL_FOLDER = "mail"
MAX_LISTED = 1_000


class MailFolder:
    """aiosmtpd's handler: one `.eml` file per message and recipient, readable by the owner
    only (U5: a member's mail may hold restricted content)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._numbers = itertools.count()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode()
        for _ in envelope.rcpt_tos:
            name = f"{time.time_ns()}-{os.getpid()}-{next(self._numbers)}.eml"
            path = self.root / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(content)
        return "250 Message accepted for delivery"


def start_sink(root: Path, host: str = "127.0.0.1", port: int = 0) -> tuple[Any, int]:
    """Start the sink in its own thread; returns (controller, port). `port` 0: any free one."""
    from aiosmtpd.controller import Controller

    if port == 0:  # aiosmtpd checks it is up by connecting to the port it was given
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
    controller = Controller(MailFolder(root), hostname=host, port=port, ready_timeout=10)
    controller.start()
    return controller, port


def received(root: Path, limit: int = MAX_LISTED) -> list[dict[str, str]]:
    """The newest `limit` mails of the folder, oldest first: file, date, from, to, subject,
    message_id, key, case and the text."""
    if not root.is_dir():
        return []
    files = sorted(root.glob("*.eml"), key=lambda p: p.name)[-max(1, min(limit, MAX_LISTED)) :]
    mails = []
    for path in files:
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = mail.get_body(preferencelist=("plain",))
        mails.append(
            {
                "file": path.name,
                "date": str(mail.get("Date", "")),
                "from": str(mail.get("From", "")),
                "to": str(mail.get("To", "")),
                "subject": str(mail.get("Subject", "")),
                "message_id": str(mail.get("Message-ID", "")),
                "key": str(mail.get("X-Casework-Key", "")),
                "case": str(mail.get("X-Casework-Case", "")),
                "text": body.get_content() if body is not None else "",
            }
        )
    return mails
