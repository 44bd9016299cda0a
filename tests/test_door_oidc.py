"""OIDC bearer tokens at the door (issue 10), against keys the test makes itself: an RSA key
pair whose public half a local HTTP server publishes as a JWKS, as an identity provider does."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from casework.door.credentials import OidcConfig
from casework.store import Store
from tests.conftest import Desk
from tests.door_helpers import bearer, door, key_for

ISSUER = "https://login.example.test/"
AUDIENCE = "casework"
CLAIM = "casework_id"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def provider_key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture
def jwks_url(provider_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """The provider's published keys, at a URL of a server on a thread of this process."""
    public = json.loads(RSAAlgorithm.to_jwk(provider_key.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "provider-1", "use": "sig", "alg": "RS256"}]})

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()
    server.server_close()


def token(key: rsa.RSAPrivateKey, *, kid: str = "provider-1", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300, "sub": "u-1"}
    payload.update(claims)
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


async def test_a_token_of_the_provider_is_accepted_and_forged_foreign_or_stale_ones_refused(
    store: Store, desk: Desk, tmp_path: Path, provider_key: rsa.RSAPrivateKey, jwks_url: str
) -> None:
    config = OidcConfig.from_env(
        {
            "CASEWORK_OIDC_ISSUER": ISSUER,
            "CASEWORK_OIDC_AUDIENCE": AUDIENCE,
            "CASEWORK_OIDC_JWKS_URL": jwks_url,
            "CASEWORK_OIDC_CLAIM": CLAIM,
        }
    )
    assert config is not None
    tokens = {
        "good": token(provider_key, **{CLAIM: "acme-alice"}),
        "another key": token(rsa_key(), **{CLAIM: "acme-alice"}),
        "another key, unknown kid": token(rsa_key(), kid="attacker", **{CLAIM: "acme-alice"}),
        "wrong audience": token(provider_key, aud="payroll", **{CLAIM: "acme-alice"}),
        "wrong issuer": token(provider_key, iss="https://evil.test/", **{CLAIM: "acme-alice"}),
        "expired": token(provider_key, exp=int(time.time()) - 600, **{CLAIM: "acme-alice"}),
        "no claim": token(provider_key),
        "shared secret": jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60, CLAIM: "acme-alice"},
            "a shared secret of thirty-two bytes!",
            algorithm="HS256",
            headers={"kid": "provider-1"},
        ),
        "not in the directory": token(provider_key, **{CLAIM: "ghost-gus"}),
    }
    async with door(store, desk, tmp_path, oidc=config) as http:
        said = {
            name: await http.get("/v1/whoami", headers=bearer(value))
            for name, value in tokens.items()
        }
        api_key = await http.get("/v1/whoami", headers=bearer(key_for(store, "cc-dana")))
    good = said.pop("good")
    assert good.status_code == 200, good.text
    assert good.json()["id"] == "acme-alice" and good.json()["via"] == "oidc"
    assert said.pop("not in the directory").status_code == 403
    errors = {name: (r.status_code, r.json()["error"]) for name, r in said.items()}
    assert {status for status, _ in errors.values()} == {401}, errors
    assert "audience" in errors["wrong audience"][1]
    assert "expired" in errors["expired"][1]
    assert "not issued by" in errors["wrong issuer"][1]
    assert CLAIM in errors["no claim"][1]
    assert "forged or altered" in errors["another key"][1]
    assert "not signed by a key" in errors["another key, unknown kid"][1]
    assert "public-key algorithm" in errors["shared secret"][1]
    assert api_key.status_code == 200  # API keys still work where OIDC is configured


def test_a_half_configured_provider_is_refused_naming_what_is_missing() -> None:
    with pytest.raises(ValueError, match="CASEWORK_OIDC_JWKS_URL"):
        OidcConfig.from_env({"CASEWORK_OIDC_ISSUER": ISSUER, "CASEWORK_OIDC_AUDIENCE": "x"})
    assert OidcConfig.from_env({}) is None
