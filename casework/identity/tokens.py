"""The token the door signs for a principal: one case, one operation, a few minutes.

The door authenticates a person (API key or OIDC), checks revocation and the right to act for
someone else, then signs a token (JWT, HS256, with the signing key's id) and puts it in the
Temporal headers of the one update, signal or query it sends (`interceptors`). The worker checks
it before any handler runs: the signature with the ring's key of that id, the case and operation
it was made for, and its expiry against workflow time, so a replay of the history decides as the
first run did.

Since issue 24 a token is bound to its message too (claim `msg`: the digest of the payload it
came with, `message_digest`), and the case takes each token once (it remembers the `jti`s it
took until they expire): a token copied out of a history is refused, with any payload, and
the headers that carry tokens are encrypted in history like payloads.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt
from pydantic_core import to_jsonable_python

from casework.identity.keyring import KeyRing
from casework.identity.principal import Principal, Via

HEADER = "casework-principal"
"""The Temporal header that carries the token."""
TOKEN_TTL = timedelta(minutes=10)
"""How long a token is good for after the door signed it; an update reaches the worker within
seconds, a signal within its first workflow task."""
CLOCK_SKEW = timedelta(seconds=60)
"""How far the door's clock may run ahead of the worker's."""
MAX_TOKEN_CHARS = 2_000
ISSUER = "casework-door"


class TokenRefused(Exception):
    """A token that does not verify; the message says why in words a user can act on."""


def message_digest(args: Sequence[Any]) -> str:
    """The digest a token binds its message with: SHA-256 of the arguments as canonical JSON
    (keys sorted, no spaces), as the sender has them and as the receiver decodes them."""
    canonical = json.dumps(
        to_jsonable_python(list(args)),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def issue(
    ring: KeyRing,
    principal: Principal,
    *,
    workflow_id: str,
    operation: str,
    now: datetime,
    ttl: timedelta = TOKEN_TTL,
    digest: str | None = None,
    token_id: str | None = None,
) -> str:
    """A token for `principal`, one case, one operation; `digest`: the message's
    (`message_digest`), so the token is good for that message only; `token_id`: its `jti`
    (a random one by default; a workflow passes a deterministic one)."""
    key = ring.active("signing")
    claims = {
        "iss": ISSUER,
        "sub": principal.id,
        "wf": workflow_id,
        "op": operation,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": token_id or secrets.token_hex(8),
        "via": principal.via,
    }
    if digest is not None:
        claims["msg"] = digest
    if principal.on_behalf_of:
        claims["for"] = principal.on_behalf_of
    return jwt.encode(claims, key.secret, algorithm="HS256", headers={"kid": key.id})


def verify(
    ring: KeyRing,
    token: str,
    *,
    workflow_id: str,
    operation: str,
    now: datetime,
    digest: str | None = None,
) -> Principal:
    """The principal a token names, or TokenRefused. Deterministic for a given ring and `now`.
    `digest`: the received message's (`message_digest`); the principal then says whether the
    token was made for it (`Principal.message`), for the case to refuse it if not."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise TokenRefused("the casework token is not a token")
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        raise TokenRefused("the casework token is malformed") from None
    key = ring.get(kid) if isinstance(kid, str) else None
    if key is None or key.purpose != "signing":
        raise TokenRefused("the casework token was signed with a key this engine does not have")
    try:
        claims = jwt.decode(
            token,
            key.secret,
            algorithms=["HS256"],
            issuer=ISSUER,
            options={
                "verify_exp": False,  # checked below against workflow time, not the wall clock
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["sub", "wf", "op", "iat", "exp"],
            },
        )
    except jwt.PyJWTError as e:
        raise TokenRefused(f"the casework token does not verify ({e})") from None
    stamp = int(now.timestamp())
    if stamp >= int(claims["exp"]):
        raise TokenRefused("the casework token has expired; send the request again")
    if int(claims["iat"]) > stamp + int(CLOCK_SKEW.total_seconds()):
        raise TokenRefused("the casework token was issued in the future; check the door's clock")
    if claims["wf"] != workflow_id or claims["op"] != operation:
        raise TokenRefused(
            f"the casework token was made for {claims['op']} on {claims['wf']}, "
            f"not {operation} on {workflow_id}"
        )
    claimed = claims.get("via")
    via: Via = "oidc" if claimed == "oidc" else "workflow" if claimed == "workflow" else "api-key"
    bound = claims.get("msg")
    message: Literal["bound", "unbound", "mismatch"] | None = None
    if digest is not None:
        message = "unbound" if bound is None else "bound" if bound == digest else "mismatch"
    expires = claims["exp"]
    return Principal(
        id=str(claims["sub"]),
        on_behalf_of=claims.get("for"),
        via=via,
        token_id=str(claims["jti"]) if claims.get("jti") is not None else None,
        token_expires=int(expires) if isinstance(expires, int | float) else None,
        message=message,
    )
