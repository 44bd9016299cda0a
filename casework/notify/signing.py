"""Integrations' webhooks are signed: HMAC-SHA256 with the subscription's secret over
`<timestamp>.<body>`, sent as

    Casework-Event-Id: case-000001:7          # the event: de-duplicate by it
    Casework-Timestamp: 1764300000             # seconds since the epoch
    Casework-Signature: v1=<hex digest>

A receiver recomputes the digest with its secret, compares in constant time, and refuses a
timestamp older than a few minutes (replays)."""

from __future__ import annotations

import hashlib
import hmac

TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={digest.hexdigest()}"


def verify(secret: str, timestamp: int, body: bytes, header: str, now: float) -> bool:
    """What a receiver does (and the tests do)."""
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)
