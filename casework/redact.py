"""Secrets out of what an operator reads: logs, start-up lines, refusals (issue 27).

A secret that reaches a log is a secret leaked to everyone who reads the log collector. What
casework treats as one: an API key (`cw_<id>_<secret>`), a password in a URL (the database's),
the path and query of an outgoing webhook URL (a chat incoming-webhook URL *is* its credential:
`https://hooks.slack.com/services/T/B/XXXX`), the SMTP password, the Temporal API key and the
key ring's secrets.

- `url_origin`: an outgoing URL as it may be shown: scheme, host and port only.
- `masked_url`: a database URL with its password hidden.
- `redact`: what a log line may carry of any text: API keys, URL passwords and query strings
  masked, plus every value registered with `register_secret` (the SMTP password, the Temporal
  API key, the ring's keys: what this process knows to be secret).

`casework.observability` runs every log record through `redact` (the last line of defence);
the code that logs never puts a URL of a channel or a subscription in a record in the first
place (it logs row ids, channels and error kinds).
"""

from __future__ import annotations

import re
import threading
from urllib.parse import urlsplit

MASK = "***"
MIN_SECRET_CHARS = 6
"""Shorter registered values are not masked: they would mask ordinary words."""

_API_KEY = re.compile(r"\bcw_([0-9a-f]{12})_[A-Za-z0-9_-]{8,}")
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@")
_QUERY = re.compile(r"(\bhttps?://[^\s?#\"']+)\?[^\s\"']*")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """`value` is masked wherever `redact` sees it from now on (this process)."""
    if value and len(value) >= MIN_SECRET_CHARS:
        with _lock:
            _secrets.add(value)


def registered() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)


def redact(text: str) -> str:
    """`text` with API keys, URL passwords, query strings, bearer tokens and registered
    secrets masked."""
    if not text:
        return text
    for secret in sorted(registered(), key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    text = _API_KEY.sub(lambda m: f"cw_{m.group(1)}_{MASK}", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}@", text)
    text = _QUERY.sub(lambda m: f"{m.group(1)}?{MASK}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


def url_origin(url: str) -> str:
    """`https://hooks.example.com` of `https://hooks.example.com/services/T/B/secret?x=1`: the
    part of an outgoing URL that names the receiver without carrying its credential."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unreadable URL)"
    if not parts.scheme or not host:
        return "(an unreadable URL)"
    return f"{parts.scheme}://{host}{port}"


def masked_url(url: str) -> str:
    """A database URL as it may be shown: its password hidden (`postgresql+psycopg://casework:
    ***@db:5432/casework`)."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}@", url)
