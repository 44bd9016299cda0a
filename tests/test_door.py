"""The door (issue 10) against a real worker: who you are comes from a credential, never from
a name in the request; what a credential allows is checked before anything is sent."""

from __future__ import annotations

from pathlib import Path

from casework.store import Store
from tests.conftest import Desk
from tests.door_helpers import bearer, door, key_for


async def test_whoami_names_the_person_a_key_belongs_to(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    async with door(store, desk, tmp_path) as http:
        alice = await http.get("/v1/whoami", headers=bearer(key_for(store, "acme-alice")))
        kara = await http.get("/v1/whoami", headers=bearer(key_for(store, "usc-kara")))
        nobody = await http.get("/v1/whoami")
    assert alice.status_code == 200, alice.text
    assert alice.json() | {} == {
        **alice.json(),
        "id": "acme-alice",
        "kind": "contact",
        "account": "acme",
        "restricted_member": False,
        "via": "api-key",
    }
    assert kara.json()["restricted_member"] is True and kara.json()["kind"] == "engineer"
    assert nobody.status_code == 401 and "Authorization: Bearer" in nobody.json()["error"]
