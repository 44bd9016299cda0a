"""Integrations' webhooks are signed the Standard Webhooks way (https://www.standardwebhooks.com),
so an integrator verifies a delivery with an off-the-shelf library in their language
(`Webhook(secret).verify(body, headers)`), signed here with that library (`standardwebhooks`):

    webhook-id: case-000001:7            # the event: the same on every delivery, de-duplicate by it
    webhook-timestamp: 1764300000        # seconds since the epoch
    webhook-signature: v1,<base64 of HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>

The key is the subscription's secret, `whsec_<base64 of 32 random bytes>`, decoded.

Until LEGACY_HEADERS_UNTIL (2027-06-30, that day included, UTC) every delivery also carries the
headers casework signed with before, so receivers written for them keep working while they move:

    Casework-Event-Id: case-000001:7
    Casework-Timestamp: 1764300000
    Casework-Signature: v1=<hex of HMAC-SHA256(the secret's text, "<timestamp>.<body>")>

Secrets. A subscription added before Standard Webhooks has a secret written in the URL-safe
base64 alphabet without padding (`whsec_` and 43 characters of A-Z a-z 0-9 - _); a Standard
Webhooks library reads the standard alphabet, so it would decode those same 32 bytes wrongly.
Nothing stored changes: the relay signs with the bytes either spelling stands for
(`signing_key`), and the integrator gives their library the standard spelling of the same secret
(`standard_secret`: `-` to `+`, `_` to `/`, `=` to pad), or adds the webhook again for a new
secret. A subscription added now gets a secret in the standard spelling, which both schemes
take as it is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import UTC, date, datetime

from standardwebhooks import Webhook

TOLERANCE_SECONDS = 300
"""How old a timestamp a receiver accepts (Standard Webhooks libraries: five minutes)."""
LEGACY_HEADERS_UNTIL = date(2027, 6, 30)
"""The last day (UTC) deliveries carry Casework-Event-Id, -Timestamp and -Signature too."""
PREFIX = "whsec_"
KEY_BYTES = 32


def new_secret() -> str:
    """A new subscription's secret, in the Standard Webhooks spelling."""
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def signing_key(secret: str) -> bytes:
    """The bytes a `whsec_` secret stands for, in the standard or the URL-safe base64 alphabet,
    padded or not. ValueError (naming no part of the secret) if it is neither."""
    if not secret.startswith(PREFIX):
        raise ValueError(f"a webhook secret starts with {PREFIX}")
    text = secret.removeprefix(PREFIX).rstrip("=").replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is base64 after whsec_") from None
    if len(key) < 16:
        raise ValueError("a webhook secret stands for at least 16 bytes")
    return key


def standard_secret(secret: str) -> str:
    """The spelling of `secret` a Standard Webhooks library takes: the same bytes."""
    return PREFIX + base64.b64encode(signing_key(secret)).decode()


def signed_headers(secret: str, event_id: str, body: str, timestamp: int) -> dict[str, str]:
    """The signature headers of one delivery of `body` at `timestamp`: Standard Webhooks', and
    casework's own until LEGACY_HEADERS_UNTIL. ValueError if the secret is unusable."""
    at = datetime.fromtimestamp(timestamp, UTC)
    headers = {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": Webhook(signing_key(secret)).sign(event_id, at, body),
    }
    if at.date() <= LEGACY_HEADERS_UNTIL:
        headers |= {
            "Casework-Event-Id": event_id,
            "Casework-Timestamp": str(timestamp),
            "Casework-Signature": signature(secret, timestamp, body.encode()),
        }
    return headers


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Casework's own signature (until LEGACY_HEADERS_UNTIL): HMAC-SHA256 keyed with the
    secret's text, over `<timestamp>.<body>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={digest.hexdigest()}"


def verify(secret: str, timestamp: int, body: bytes, header: str, now: float) -> bool:
    """What a receiver of Casework-Signature does (and the tests do)."""
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)
