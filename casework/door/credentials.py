"""The door's credentials: API keys (the embedded default) and OIDC bearer tokens (a deployment
with an identity provider). Each check answers the directory id the credential is bound to, or
raises `CredentialRefused` with a message that says what was wrong and what to do.

API key: `cw_<key id>_<secret>`. The key id (12 hex digits) finds the row in `api_keys`; the
secret is compared by its SHA-256 with `hmac.compare_digest`. A key is refused when malformed,
unknown, forged (the secret does not match), expired or revoked.

OIDC: a JWT signed by the identity provider, verified with PyJWT against the provider's
published keys (`PyJWKClient` on the JWKS URL, cached), its issuer and audience checked and its
expiry against the wall clock; the directory id is the configured claim (default `sub`).

CASEWORK_OIDC_ISSUER, CASEWORK_OIDC_AUDIENCE, CASEWORK_OIDC_JWKS_URL and CASEWORK_OIDC_CLAIM
configure it (casework.settings; docs/configuration.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from casework.domain.durations import parse_duration
from casework.settings import environment
from casework.store import Store

KEY_PREFIX = "cw_"
KEY_ID_HEX = 12
_API_KEY = re.compile(r"^cw_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
MAX_CREDENTIAL_CHARS = 8_000
"""Bound on an Authorization header's credential (an OIDC token with many claims fits)."""
OIDC_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
"""Asymmetric only: a token signed with a shared secret (HS256) is never taken from outside."""
OIDC_LEEWAY = timedelta(seconds=30)
JWKS_CACHE_SECONDS = 300
LAST_USED_EVERY = timedelta(minutes=1)
"""How often a key's `last_used_at` is written: not on every request (a write per read)."""


class CredentialRefused(Exception):
    """401: no, malformed, unknown, forged, expired or revoked credential; the message says
    which and what to do."""


@dataclass(frozen=True)
class NewKey:
    key_id: str
    secret: str

    @property
    def token(self) -> str:
        return f"{KEY_PREFIX}{self.key_id}_{self.secret}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_expiry(text: str | None, now: datetime) -> datetime | None:
    """`90d`, `12h`, `30m`...: when a new key stops working; None or `never`: it does not."""
    if text is None or text.strip().lower() in {"", "never"}:
        return None
    delta = parse_duration(text)
    if not isinstance(delta, timedelta) or delta <= timedelta(0):
        raise ValueError(f"{text!r} is not a duration; write it like 90d, 12h or 30m, or never")
    return now + delta


def create_key(
    store: Store,
    directory_id: str,
    *,
    label: str = "",
    expires_at: datetime | None = None,
    created_by: str = "operator",
    now: datetime | None = None,
) -> NewKey:
    """A new key bound to `directory_id` (the caller checks the directory). The secret is in
    the returned key only: the database keeps its SHA-256."""
    key = NewKey(key_id=secrets.token_hex(KEY_ID_HEX // 2), secret=secrets.token_urlsafe(32))
    store.api_keys.add(
        key_id=key.key_id,
        directory_id=directory_id,
        secret_sha256=digest(key.secret),
        label=label,
        created_at=now or datetime.now(UTC),
        created_by=created_by,
        expires_at=expires_at,
    )
    return key


def check_api_key(store: Store, credential: str, now: datetime) -> str:
    """The directory id the key is bound to, or CredentialRefused."""
    found = _API_KEY.match(credential)
    if found is None:
        raise CredentialRefused(
            "the API key is malformed: a casework key looks like cw_<12 hex digits>_<secret>, "
            "as `casework keys create` printed it; check that it was copied whole"
        )
    key_id, secret = found.groups()
    row = store.api_keys.get(key_id)
    if row is None:
        raise CredentialRefused(
            f"the API key cw_{key_id}_... is not known to this engine: it was made for another "
            "engine, or deleted; ask your operator for a key (`casework keys create`)"
        )
    if not hmac.compare_digest(digest(secret).encode(), str(row["secret_sha256"]).encode()):
        raise CredentialRefused(
            f"the API key cw_{key_id}_... does not match its secret: it was mistyped or forged; "
            "use the key exactly as it was shown when it was made, or ask for a new one"
        )
    if row["revoked_at"] is not None:
        raise CredentialRefused(
            f"the API key cw_{key_id}_... was revoked on {row['revoked_at']:%Y-%m-%d %H:%M} UTC; "
            "ask your operator for a new key (`casework keys create`)"
        )
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise CredentialRefused(
            f"the API key cw_{key_id}_... expired on {row['expires_at']:%Y-%m-%d %H:%M} UTC; "
            "ask your operator for a new key (`casework keys create`)"
        )
    last = row["last_used_at"]
    if last is None or now - last >= LAST_USED_EVERY:
        store.api_keys.used(key_id, now)
    return str(row["directory_id"])


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    audience: str
    jwks_url: str
    claim: str = "sub"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OidcConfig | None:
        """The configuration, None when no OIDC variable is set; SettingsRefused (a
        ValueError) when only some are: a half-configured provider would refuse every token
        (casework.settings)."""
        found = environment(env)
        issuer, audience, jwks_url = found.oidc_issuer, found.oidc_audience, found.oidc_jwks_url
        if issuer is None or audience is None or jwks_url is None:  # all three or none
            return None
        return cls(issuer=issuer, audience=audience, jwks_url=jwks_url, claim=found.oidc_claim)


class OidcVerifier:
    """Checks bearer tokens of one identity provider; the provider's keys are fetched from its
    JWKS URL and cached (a new `kid` makes PyJWKClient fetch again)."""

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self.keys = jwt.PyJWKClient(
            config.jwks_url, cache_jwk_set=True, lifespan=JWKS_CACHE_SECONDS, timeout=10
        )

    def check(self, token: str) -> str:
        """The directory id the token names (blocking: fetches the provider's keys when not
        cached), or CredentialRefused."""
        try:
            signing_key = self.keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise CredentialRefused(
                "the identity provider's keys could not be fetched from "
                f"{self.config.jwks_url}; try again, or tell your operator"
            ) from None
        except jwt.PyJWKClientError as e:
            raise CredentialRefused(
                f"the bearer token was not signed by a key of the identity provider ({e}); "
                "sign in again to get a fresh token"
            ) from None
        except jwt.PyJWTError:
            raise CredentialRefused(
                "the bearer token is neither a casework API key (cw_...) nor a JWT; "
                "send the key `casework keys create` printed, or a token of the identity provider"
            ) from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key.key,
                algorithms=OIDC_ALGORITHMS,
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=OIDC_LEEWAY,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise CredentialRefused("the bearer token has expired; sign in again") from None
        except jwt.InvalidAudienceError:
            raise CredentialRefused(
                f"the bearer token is not for casework (its audience is not "
                f"{self.config.audience!r}); ask the identity provider for a casework token"
            ) from None
        except jwt.InvalidIssuerError:
            raise CredentialRefused(
                f"the bearer token was not issued by {self.config.issuer}; sign in with that "
                "identity provider"
            ) from None
        except jwt.InvalidSignatureError:
            raise CredentialRefused(
                "the bearer token's signature does not match the identity provider's key: it "
                "was forged or altered; sign in again"
            ) from None
        except jwt.InvalidAlgorithmError:
            raise CredentialRefused(
                "the bearer token is not signed with a public-key algorithm "
                f"({', '.join(OIDC_ALGORITHMS)}); casework takes no other from a provider"
            ) from None
        except jwt.PyJWTError as e:
            raise CredentialRefused(f"the bearer token does not verify ({e})") from None
        subject = claims.get(self.config.claim)
        if not isinstance(subject, str) or not subject:
            raise CredentialRefused(
                f"the bearer token has no {self.config.claim!r} claim naming a directory id; "
                "ask your operator to map the identity provider's users to casework people"
            )
        return subject
