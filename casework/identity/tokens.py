"""The token the door signs for a principal: one case, one operation, a few minutes.

The door authenticates a person (API key or OIDC), checks revocation and the right to act for
someone else, then signs a token (JWT, HS256, with the signing key's id) and puts it in the
Temporal headers of the one update, signal or query it sends (`interceptors`). The worker checks
it before any handler runs: the signature with the ring's key of that id, the case and operation
it was made for, and its expiry against workflow time, so a replay of the history decides as the
first run did. A token copied out of a history is good for the same operation on the same case
for at most TOKEN_TTL.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import jwt

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


def issue(
    ring: KeyRing,
    principal: Principal,
    *,
    workflow_id: str,
    operation: str,
    now: datetime,
    ttl: timedelta = TOKEN_TTL,
) -> str:
    key = ring.active("signing")
    claims = {
        "iss": ISSUER,
        "sub": principal.id,
        "wf": workflow_id,
        "op": operation,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": secrets.token_hex(8),
        "via": principal.via,
    }
    if principal.on_behalf_of:
        claims["for"] = principal.on_behalf_of
    return jwt.encode(claims, key.secret, algorithm="HS256", headers={"kid": key.id})


def verify(
    ring: KeyRing, token: str, *, workflow_id: str, operation: str, now: datetime
) -> Principal:
    """The principal a token names, or TokenRefused. Deterministic for a given ring and `now`."""
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
    return Principal(id=str(claims["sub"]), on_behalf_of=claims.get("for"), via=via)
