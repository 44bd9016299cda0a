"""The codec server (casework.codec.server) over HTTP: who gets which payloads decoded (U5),
what is audited, and what malformed or oversize requests are told."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.api.common.v1 import Payload
from temporalio.converter import WorkflowSerializationContext

from casework.codec import Realm, data_converter
from casework.codec.access import restricted_reader
from casework.codec.server import add_codec_cors, codec_router
from casework.identity.keyring import fresh_ring
from casework.identity.principal import NAMESPACE_OPERATOR, Principal
from casework.store import Store

CANARY = "CANARY-codec-server-9d1e"
RING = fresh_ring()
REALMS = {
    "case-000001": Realm(restricted=True, account_id="cyberdyne"),
    "case-000002": Realm(restricted=False, account_id="acme"),
}
KEYS = {  # credential -> directory id; anything else does not verify
    "Bearer k-kara": "usc-kara",  # a member of the restricted queue
    "Bearer k-judy": "cyberdyne-judy",  # a contact of the restricted account
    "Bearer k-alice": "acme-alice",  # a contact of another account
    "Bearer k-erin": "gsc-erin",  # an engineer outside the restricted queue
}


async def authenticate(header: str | None) -> Principal | None:
    found = KEYS.get(header or "")
    return Principal(id=found, via="api-key") if found else None


class Audit:
    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    def __call__(self, *row: Any) -> None:
        self.rows.append(row)


def app_with(may_read: Any, audit: Audit, **options: Any) -> FastAPI:
    app = FastAPI()
    app.include_router(
        codec_router(
            RING,
            authenticate=authenticate,
            may_read_restricted=may_read,
            audit=audit,
            **options,
        ),
        prefix="/codec",
    )
    add_codec_cors(app, ["http://localhost:8233"])
    return app


async def encrypted(workflow_id: str) -> dict[str, Any]:
    converter = data_converter(RING, REALMS.get).with_context(
        WorkflowSerializationContext(namespace="default", workflow_id=workflow_id)
    )
    [payload] = await converter.encode([CANARY])
    return wire(payload)


def wire(payload: Payload) -> dict[str, Any]:
    return {
        "metadata": {k: base64.b64encode(v).decode() for k, v in payload.metadata.items()},
        "data": base64.b64encode(payload.data).decode(),
    }


def texts(response: httpx.Response) -> str:
    """Everything the answer's payloads carry, decoded from base64."""
    assert response.status_code == 200, response.text
    return " ".join(
        base64.b64decode(p.get("data", "")).decode("latin-1") for p in response.json()["payloads"]
    )


async def post(app: FastAPI, path: str, body: Any, key: str | None = None) -> httpx.Response:
    headers = {"X-Namespace": "default"}
    if key:
        headers["Authorization"] = key
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://door") as client:
        if isinstance(body, bytes):
            return await client.post(path, content=body, headers=headers)
        return await client.post(path, json=body, headers=headers)


def fake_may_read(principal: Principal, account_id: str | None) -> bool:
    return principal.id == "usc-kara" or (
        account_id == "cyberdyne" and principal.id == "cyberdyne-judy"
    )


@pytest.fixture
def store(tmp_path: Any, directory: Any) -> Any:
    store = Store(f"sqlite:///{tmp_path / 'casework.db'}")
    store.directory.replace(directory)
    yield store
    store.dispose()


@pytest.mark.parametrize("real", [False, True], ids=["fake", "directory"])
@pytest.mark.parametrize(
    ("key", "sees_restricted"),
    [
        ("Bearer k-kara", True),
        ("Bearer k-judy", True),
        ("Bearer k-alice", False),
        ("Bearer k-erin", False),
    ],
)
async def test_restricted_payloads_decode_only_for_members_and_the_accounts_contacts(
    key: str, sees_restricted: bool, real: bool, store: Store
) -> None:
    audit = Audit()
    app = app_with(restricted_reader(store) if real else fake_may_read, audit)
    body = {"payloads": [await encrypted("case-000001"), await encrypted("case-000002")]}
    answer = texts(await post(app, "/codec/decode", body, key))
    assert answer.count(CANARY) == (2 if sees_restricted else 1)  # ordinary: any valid key
    [(principal, action, workflow_id, account, granted, reason)] = audit.rows
    assert (principal, action, account, granted) == (
        KEYS[key],
        "decode",
        "cyberdyne",
        sees_restricted,
    )
    assert workflow_id is None and reason


@pytest.mark.parametrize("key", [None, "Bearer forged", "Basic a2FyYTo="])
async def test_without_a_valid_credential_every_payload_comes_back_encrypted(
    key: str | None,
) -> None:
    audit = Audit()
    body = {"payloads": [await encrypted("case-000001"), await encrypted("case-000002")]}
    response = await post(app_with(fake_may_read, audit), "/codec/decode", body, key)
    assert CANARY not in texts(response)
    assert response.json() == body
    assert audit.rows == []


def poison(data: bytes, **metadata: bytes) -> dict[str, Any]:
    return wire(Payload(metadata={"encoding": b"binary/encrypted", **metadata}, data=data))


async def test_payloads_a_stranger_labelled_encrypted_come_back_as_they_came() -> None:
    """Issue 24: the Web UI shows a history holding a stranger's poison payloads; the codec
    answers for every one (left as it came, like any payload it cannot open) instead of a 500,
    and the page's other payloads still decode."""
    key = RING.active("payload").id.encode()
    poisons = [
        poison(b'"x"'),  # no key id
        poison(b"\x00" * 48, **{"encryption-key-id": b"no-such-key"}),
        poison(b"\x00" * 48, **{"encryption-key-id": b"\xff\xfe"}),  # a key id that is not text
        poison(b"\x00" * 64, **{"encryption-key-id": key, "casework-realm": b"ordinary"}),
        poison(
            b"\x00" * 64,
            **{
                "encryption-key-id": key,
                "casework-realm": b"restricted",
                "casework-account": b"\xff",
            },
        ),
    ]
    body = {"payloads": [*poisons, await encrypted("case-000002")]}
    response = await post(app_with(fake_may_read, Audit()), "/codec/decode", body, "Bearer k-kara")
    assert response.status_code == 200, response.text
    assert response.json()["payloads"][:-1] == poisons
    assert CANARY in texts(response)


async def test_a_payload_that_is_not_encrypted_comes_back_as_it_is() -> None:
    plain = {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()}, "data": "IjEi"}
    response = await post(
        app_with(fake_may_read, Audit()), "/codec/decode", {"payloads": [plain]}, "Bearer k-erin"
    )
    assert response.json() == {"payloads": [plain]}


async def test_encode_needs_a_credential_and_what_it_encodes_decodes() -> None:
    app = app_with(fake_may_read, Audit())
    plain = {
        "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
        "data": base64.b64encode(f'"{CANARY}"'.encode()).decode(),
    }
    refused = await post(app, "/codec/encode", {"payloads": [plain]})
    assert refused.status_code == 401 and "credential" in refused.json()["detail"]
    sealed = await post(app, "/codec/encode", {"payloads": [plain]}, "Bearer k-erin")
    assert CANARY not in texts(sealed)
    # encoded without a workflow: restricted, no account (fail closed): members only
    back = await post(app, "/codec/decode", sealed.json(), "Bearer k-judy")
    assert CANARY not in texts(back)
    back = await post(app, "/codec/decode", sealed.json(), "Bearer k-kara")
    assert CANARY in texts(back)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not JSON"),
        ({"payload": []}, '{"payloads"'),
        ({"payloads": "x"}, '{"payloads"'),
        ({"payloads": [{"data": "***"}]}, "protobuf JSON"),
        ({"payloads": [{"metadata": {"a": 1}}]}, "protobuf JSON"),
        ({"payloads": [{"surprise": 1}]}, "protobuf JSON"),
        ({"payloads": [{}] * 11}, "at most 10"),
        ({"payloads": [{"data": "A" * 2000}]}, "at most 1000"),
    ],
)
async def test_bad_input_is_refused_with_what_was_wrong(body: Any, says: str) -> None:
    app = app_with(fake_may_read, Audit(), max_payloads=10, max_body_bytes=1000)
    for path in ("/codec/decode", "/codec/encode"):
        response = await post(app, path, body, "Bearer k-kara")
        assert response.status_code == 400, response.text
        assert says in response.json()["detail"]


async def test_another_namespace_is_refused_when_the_codec_names_its_own() -> None:
    app = app_with(fake_may_read, Audit(), namespaces=["casework"])
    response = await post(app, "/codec/decode", {"payloads": []}, "Bearer k-kara")
    assert response.status_code == 400 and "casework" in response.json()["detail"]


async def test_the_web_ui_may_call_it_with_credentials() -> None:
    app = app_with(fake_may_read, Audit())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://door") as client:
        preflight = await client.options(
            "/codec/decode",
            headers={
                "Origin": "http://localhost:8233",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
            },
        )
        elsewhere = await client.options(
            "/codec/decode",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:8233"
    assert preflight.headers["access-control-allow-credentials"] == "true"
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "x-namespace"} <= set(allowed.split(", "))
    assert "access-control-allow-origin" not in elsewhere.headers


def test_the_directory_reader_refuses_operators_and_proxies(store: Store) -> None:
    may_read = restricted_reader(store)
    assert not may_read(NAMESPACE_OPERATOR, "cyberdyne")
    assert not may_read(Principal(id="cc-dana", on_behalf_of="cyberdyne-judy"), "cyberdyne")
    assert not may_read(Principal(id="cyberdyne-judy"), None)  # unknown account: members only
    assert may_read(Principal(id="usc-kara"), None)


def test_the_door_registers_an_intake_in_its_accounts_realm(store: Store) -> None:
    from casework.codec.access import register_intake_realm

    assert register_intake_realm(store, "req-1", "cyberdyne") == Realm(True, "cyberdyne")
    assert store.realms.lookup("intake-req-1") == Realm(True, "cyberdyne")
    assert register_intake_realm(store, "req-2", "acme") == Realm(False, "acme")
    assert register_intake_realm(store, "req-3", "nobody") is None
    assert store.realms.lookup("intake-req-3") is None


COOKIES = {"session-kara": "Bearer k-kara", "session-alice": "Bearer k-alice"}


def signed_in(request: Any) -> str | None:
    """A browser's sign-in cookie, as the door's Case Center session reads it."""
    return COOKIES.get(request.cookies.get("casework_session", ""))


async def post_from_browser(
    app: FastAPI, body: Any, cookie: str | None, origin: str | None
) -> httpx.Response:
    """What the Web UI sends with "Include cross-origin credentials": the cookie, no key."""
    headers = {"X-Namespace": "default"}
    if origin:
        headers["Origin"] = origin
    transport = httpx.ASGITransport(app=app)
    cookies = {"casework_session": cookie} if cookie else None
    async with httpx.AsyncClient(
        transport=transport, base_url="http://door", cookies=cookies
    ) as client:
        return await client.post("/codec/decode", json=body, headers=headers)


async def test_a_signed_in_browser_decodes_from_the_web_ui_and_only_from_there() -> None:
    """The Web UI's origin sends the Case Center's sign-in cookie: its person's reading rights
    (U5 for restricted payloads); a page of another origin, or no cookie, decodes nothing."""
    audit = Audit()
    app = app_with(
        fake_may_read,
        audit,
        cookie_credential=signed_in,
        origins=["http://127.0.0.1:8299"],
    )
    body = {"payloads": [await encrypted("case-000001"), await encrypted("case-000002")]}
    ui = "http://127.0.0.1:8299"

    member = texts(await post_from_browser(app, body, "session-kara", ui))
    assert member.count(CANARY) == 2
    other = texts(await post_from_browser(app, body, "session-alice", ui))
    assert other.count(CANARY) == 1  # ordinary only: acme-alice is no member (U5)
    for cookie, origin in [
        (None, ui),  # anonymous
        ("session-forged", ui),  # a cookie that does not open
        ("session-kara", "http://evil.example"),  # another site's page
        ("session-kara", "http://127.0.0.1:8233"),  # the default UI port, not this engine's
    ]:
        answer = texts(await post_from_browser(app, body, cookie, origin))
        assert CANARY not in answer, (cookie, origin)
    assert [(r[0], r[4]) for r in audit.rows] == [("usc-kara", True), ("acme-alice", False)]


async def test_cors_opens_the_codec_to_the_web_ui_and_nothing_else_of_the_door() -> None:
    app = app_with(fake_may_read, Audit())

    @app.get("/v1/cases")
    async def cases() -> dict[str, str]:
        return {"cases": "the door's API"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://door") as client:
        codec = await client.post(
            "/codec/decode", json={"payloads": []}, headers={"Origin": "http://localhost:8233"}
        )
        api = await client.get("/v1/cases", headers={"Origin": "http://localhost:8233"})
    assert codec.headers["access-control-allow-origin"] == "http://localhost:8233"
    assert api.status_code == 200
    assert "access-control-allow-origin" not in api.headers
