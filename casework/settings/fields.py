"""The variables' fields: how one is declared (`variable`), and the relay's (`RelayFields`, which
casework.notify.config.RelayConfig takes by field name). casework.settings reads them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

PREFIX = "CASEWORK_"
DATA_DIR = Path(__file__).parent.parent / "data"
DEMO_DIRECTORY = DATA_DIR / "demo-directory.yaml"
DEFAULT_POLICY_FILE = DATA_DIR / "default-policy.yaml"
DEFAULT_TASK_QUEUE = "casework"
DEFAULT_DEPLOYMENT_NAME = "casework"
"""The Worker Deployment every casework worker registers its version in (issue 28)."""
DEPLOYMENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
"""A deployment name: no `.` nor `:`, which separate it from the build id where Temporal writes
both in one string (`casework:0.2.0` in the `TemporalWorkerDeploymentVersion` attribute)."""
BUILD_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"
"""A build id: letters, digits and `. _ + -` (a package version like 0.2.0 or 0.3.0rc1+local);
no `:` (see DEPLOYMENT_NAME_PATTERN)."""
MAX_VERSION_NAME = 100
"""Characters of a deployment name or a build id."""
DEFAULT_UI_PORT = 8233
"""The embedded Web UI's port (`casework up --ui-port`)."""


def web_ui_origins(port: int) -> tuple[str, ...]:
    """The browser origins of a Web UI served on this machine at `port`: a browser names the
    page by whichever host was typed, so both."""
    return (f"http://localhost:{port}", f"http://127.0.0.1:{port}")


DEFAULT_UI_ORIGINS = web_ui_origins(DEFAULT_UI_PORT)
"""The embedded Web UI's at its default port; `casework up --ui-port N` answers N's instead."""
MAX_UPLOAD_BYTES = 256 << 20
"""An attachment's bound (a large log) unless CASEWORK_MAX_UPLOAD says otherwise."""
MAX_UPLOAD_BOUND = 64 << 30
"""The largest bound one may configure (64 GB)."""
MAX_LIST = 200
"""Entries of a comma-separated variable (operators, origins)."""
MAX_PATH = 4096
"""Characters of a path (Linux's PATH_MAX)."""

_SIZE = re.compile(r"^\s*(\d{1,15})\s*(|B|KB|MB|GB|KIB|MIB|GIB)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}
URL_PATTERN = r"^https?://\S+$"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@:/-]*$"


def parse_size(text: str) -> int:
    """`256MB`, `10mb`, `500KB` or bytes as a bound for an attachment (KB = 1024 bytes)."""
    found = _SIZE.match(text)
    if not found:
        raise ValueError(f"{text!r} is not a size; write it like 256MB, 10MB, 500KB or 1048576")
    unit = found.group(2).upper().replace("IB", "B")
    size = int(found.group(1)) * _UNITS[unit]
    if not 0 < size <= MAX_UPLOAD_BOUND:
        raise ValueError(f"{text!r} is out of range: from 1 byte to 64GB")
    return size


def variable(
    name: str,
    write: str,
    description: str,
    *,
    secret: bool = False,
    shown_default: str | None = None,
    **field: Any,
) -> Any:
    """A field read from the variable `name`: `write` finishes "<name> must be ..." when a
    value is refused; a secret's value is never shown (not in a refusal, not in a repr);
    `shown_default`: the default as docs/configuration.md says it, when not the value's."""
    return Field(
        validation_alias=name,
        description=description,
        repr=not secret,
        json_schema_extra={"write": write, "secret": secret, "shown_default": shown_default},
        **field,
    )


class RelayFields(BaseModel):
    """The relay's variables (casework.notify.config.RelayConfig takes them by field name)."""

    smtp_host: str = variable(
        "CASEWORK_SMTP_HOST",
        "a host name or address, like smtp.example.com",
        "The SMTP server the relay sends mail through; set it and `casework up` starts no "
        "mail sink of its own.",
        default="127.0.0.1",
        min_length=1,
        max_length=253,
    )
    smtp_port: int = variable(
        "CASEWORK_SMTP_PORT",
        "a TCP port from 1 to 65535, like 587",
        "The SMTP server's port.",
        default=8025,
        ge=1,
        le=65535,
    )
    smtp_tls: Literal["none", "starttls", "tls"] = variable(
        "CASEWORK_SMTP_TLS",
        "none, starttls or tls",
        "none: plain SMTP (the embedded sink); starttls: upgrade on port 587; tls: implicit "
        "TLS on port 465.",
        default="none",
    )
    smtp_user: str | None = variable(
        "CASEWORK_SMTP_USER",
        "a user name (at most 200 characters)",
        "SMTP authentication's user.",
        default=None,
        max_length=200,
    )
    smtp_password: str | None = variable(
        "CASEWORK_SMTP_PASSWORD",
        "the SMTP password (at most 500 characters)",
        "SMTP authentication's password; masked in every log line.",
        secret=True,
        default=None,
        max_length=500,
    )
    mail_from: str = variable(
        "CASEWORK_MAIL_FROM",
        "a mail address, like casework@example.com",
        "The sender of the relay's mail.",
        default="casework@localhost",
        min_length=3,
        max_length=320,
    )
    public_url: str = variable(
        "CASEWORK_PUBLIC_URL",
        "an http(s) URL, like https://casework.example.com",
        "The casework API as people reach it: messages link to `<public_url>/v1/cases/<id>`.",
        default="http://127.0.0.1:8234",
        pattern=URL_PATTERN,
        max_length=2000,
    )
    max_attempts: int = variable(
        "CASEWORK_RELAY_MAX_ATTEMPTS",
        "a whole number from 1 to 100",
        "Attempts before a message is dead-lettered (`casework outbox --failed`).",
        default=8,
        ge=1,
        le=100,
    )
    backoff_seconds: float = variable(
        "CASEWORK_RELAY_BACKOFF",
        "seconds above 0, at most 3600, like 5",
        "The wait after a first failure; it doubles after each one ...",
        default=5.0,
        gt=0,
        le=3600,
    )
    backoff_max_seconds: float = variable(
        "CASEWORK_RELAY_BACKOFF_MAX",
        "seconds above 0, at most 86400, like 900",
        "... up to this.",
        default=900.0,
        gt=0,
        le=86_400,
    )
    timeout_seconds: float = variable(
        "CASEWORK_RELAY_TIMEOUT",
        "seconds above 0, at most 300, like 15",
        "One send's limit (SMTP conversation, HTTP request), on a lane without its own.",
        default=15.0,
        gt=0,
        le=300,
    )
    email_concurrency: int = variable(
        "CASEWORK_RELAY_EMAIL_CONCURRENCY",
        "a whole number from 1 to 64",
        "Mails sent at once (SMTP connections).",
        default=4,
        ge=1,
        le=64,
    )
    chat_concurrency: int = variable(
        "CASEWORK_RELAY_CHAT_CONCURRENCY",
        "a whole number from 1 to 64",
        "Chat messages sent at once.",
        default=8,
        ge=1,
        le=64,
    )
    page_concurrency: int = variable(
        "CASEWORK_RELAY_PAGE_CONCURRENCY",
        "a whole number from 1 to 64",
        "Pages sent at once.",
        default=8,
        ge=1,
        le=64,
    )
    webhook_concurrency: int = variable(
        "CASEWORK_RELAY_WEBHOOK_CONCURRENCY",
        "a whole number from 1 to 64",
        "Integrations' webhooks sent at once.",
        default=16,
        ge=1,
        le=64,
    )
    email_timeout_seconds: float | None = variable(
        "CASEWORK_RELAY_EMAIL_TIMEOUT",
        "seconds above 0, at most 300",
        "One mail's limit.",
        default=None,
        shown_default="CASEWORK_RELAY_TIMEOUT",
        gt=0,
        le=300,
    )
    chat_timeout_seconds: float | None = variable(
        "CASEWORK_RELAY_CHAT_TIMEOUT",
        "seconds above 0, at most 300",
        "One chat message's limit.",
        default=None,
        shown_default="CASEWORK_RELAY_TIMEOUT",
        gt=0,
        le=300,
    )
    page_timeout_seconds: float | None = variable(
        "CASEWORK_RELAY_PAGE_TIMEOUT",
        "seconds above 0, at most 300",
        "One page's limit.",
        default=None,
        shown_default="CASEWORK_RELAY_TIMEOUT",
        gt=0,
        le=300,
    )
    webhook_timeout_seconds: float | None = variable(
        "CASEWORK_RELAY_WEBHOOK_TIMEOUT",
        "seconds above 0, at most 300",
        "One webhook's limit.",
        default=None,
        shown_default="CASEWORK_RELAY_TIMEOUT",
        gt=0,
        le=300,
    )
