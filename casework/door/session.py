"""The Case Center page's sign-in session: a cookie that holds the person's credential (the
API key or OIDC token they signed in with), sealed with AES-256-GCM under a key derived
(HKDF-SHA256) from the key ring's active signing key, so every door of a deployment (they load
the same ring) opens the sessions of the others, and a ring rotation signs everyone out.

Nothing in the cookie is trusted by name: every request unseals the credential and
authenticates it again (`Door.person`), so a key revoked or expired meanwhile ends the session
at its next click. The cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no other
site's page sends it), `Secure` when the page is served over HTTPS, and expires after
SESSION_HOURS. Each session carries a random CSRF token that every form posts back
(`hidden` field `csrf`), compared in constant time.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from casework.identity.keyring import KeyRing

COOKIE = "casework_session"
SIGN_IN_COOKIE = "casework_signin"
"""Before sign-in: the CSRF token of the sign-in form (a login-CSRF guard)."""
SESSION_HOURS = 8
COOKIE_GRACE_HOURS = 24
"""The cookie outlives its session by this much (the seal's own expiry still ends the session):
a form sent after the session ended still says whose it was, so the door keeps the draft for
that person only (`casework.door.drafts`)."""
MAX_COOKIE_CHARS = 4_000
_INFO = b"casework case center session v1"


@dataclass(frozen=True)
class Session:
    authorization: str
    """`Bearer <credential>`, as the API takes it."""
    csrf: str
    expires: float
    person: str | None = None
    """The directory id the credential belonged to at sign-in: whose drafts this browser keeps
    after the session ends. Never an identity for anything else: every request authenticates
    the credential again."""

    @property
    def expired(self) -> bool:
        return self.expires <= time.time()


class Sessions:
    """Seals and opens session cookies."""

    def __init__(self, ring: KeyRing) -> None:
        signing = ring.active("signing")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
            signing.secret
        )
        self._aead = AESGCM(key)

    def new(self, credential: str, person: str | None = None) -> tuple[str, Session]:
        session = Session(
            authorization=f"Bearer {credential}",
            csrf=secrets.token_urlsafe(24),
            expires=time.time() + SESSION_HOURS * 3600,
            person=person,
        )
        return self.seal(session), session

    def seal(self, session: Session) -> str:
        nonce = os.urandom(12)
        plain = json.dumps(
            {"a": session.authorization, "x": session.csrf, "e": session.expires}
            | ({"p": session.person} if session.person else {})
        ).encode()
        return base64.urlsafe_b64encode(nonce + self._aead.encrypt(nonce, plain, _INFO)).decode()

    def open(self, cookie: str | None, expired_too: bool = False) -> Session | None:
        """The session in `cookie`, or None if there is none, it was tampered with, it was
        sealed under another ring, or it has expired (`expired_too`: an expired one all the
        same, to know whose a draft is; never to act)."""
        if not cookie or len(cookie) > MAX_COOKIE_CHARS:
            return None
        try:
            raw = base64.urlsafe_b64decode(cookie.encode())
            plain = self._aead.decrypt(raw[:12], raw[12:], _INFO)
            data = json.loads(plain)
            person = data.get("p")
            session = Session(
                authorization=data["a"],
                csrf=data["x"],
                expires=float(data["e"]),
                person=person if isinstance(person, str) else None,
            )
        except (ValueError, InvalidTag, KeyError, TypeError, AttributeError):
            return None
        return session if expired_too or not session.expired else None


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())
