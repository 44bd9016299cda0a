"""`casework keys` and `casework audit`, the operator's side of the door (issue 10): a key is
shown once and kept hashed, listed without its secret, and refused by the door once revoked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from casework.cli import app
from casework.store import Store
from tests.conftest import Desk
from tests.door_helpers import bearer, door

KEY = re.compile(r"cw_[0-9a-f]{12}_[A-Za-z0-9_-]+")


def casework(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def operator(monkeypatch: pytest.MonkeyPatch, store: Store) -> Store:
    monkeypatch.setenv("CASEWORK_DB_URL", store.url)
    return store


async def test_a_key_is_shown_once_listed_without_its_secret_and_refused_once_revoked(
    operator: Store, desk: Desk, tmp_path: Path
) -> None:
    made = casework("keys", "create", "acme-alice", "--label", "laptop", "--expires-in", "30d")
    assert made.exit_code == 0, made.output
    token = KEY.search(made.stdout).group()  # type: ignore[union-attr]
    key_id = token.split("_")[1]
    secret = token.split("_", 2)[2]
    stored = operator.api_keys.get(key_id)
    assert stored is not None and secret not in json.dumps(stored, default=str)

    listed = casework("keys", "list", "--for", "acme-alice", "--output", "json")
    assert listed.exit_code == 0, listed.output
    assert secret not in listed.stdout
    (row,) = json.loads(listed.stdout)
    assert row["id"] == key_id and row["label"] == "laptop" and row["status"] == "active"

    async with door(operator, desk, tmp_path) as http:
        before = await http.get("/v1/whoami", headers=bearer(token))
        revoked = casework("keys", "revoke", key_id)
        after = await http.get("/v1/whoami", headers=bearer(token))
    assert before.status_code == 200 and before.json()["id"] == "acme-alice"
    assert revoked.exit_code == 0, revoked.output
    assert after.status_code == 401 and "revoked" in after.json()["error"]
    listed = casework("keys", "list", "--output", "json")
    assert [r["status"] for r in json.loads(listed.stdout)] == ["revoked"]


def test_keys_refuse_an_unknown_person_a_bad_duration_and_an_unknown_key(
    operator: Store,
) -> None:
    nobody = casework("keys", "create", "ghost-gus")
    assert nobody.exit_code == 2 and "not in the directory" in nobody.output
    bad = casework("keys", "create", "acme-alice", "--expires-in", "soon")
    assert bad.exit_code == 2 and "--expires-in" in bad.output
    missing = casework("keys", "expire", "0123456789ab")
    assert missing.exit_code == 2 and "no API key" in missing.output
    assert operator.api_keys.count() == 0


def test_audit_lists_reads_newest_first_filtered_by_case_person_and_refusal(
    operator: Store,
) -> None:
    record = operator.audit.record
    record(
        principal="usc-kara",
        path="api",
        action="read",
        case_id="case-000001",
        account_id="cyberdyne",
        granted=True,
    )
    record(
        principal="gsc-erin",
        path="api",
        action="read",
        case_id="case-000001",
        account_id="cyberdyne",
        granted=False,
        reason="not a member (U5)",
    )
    record(
        principal="gsc-erin",
        path="codec",
        action="decode",
        case_id="case-000002",
        account_id="cyberdyne",
        granted=False,
        reason="not a member (U5)",
    )
    everything = casework("audit", "--output", "json")
    assert [r["path"] for r in json.loads(everything.stdout)] == ["codec", "api", "api"]
    refused = casework("audit", "--case", "1", "--refused", "--output", "json")
    assert [(r["principal"], r["granted"]) for r in json.loads(refused.stdout)] == [
        ("gsc-erin", False)
    ]
    text = casework("audit", "--who", "usc-kara")
    assert text.exit_code == 0 and "usc-kara" in text.stdout and "gsc-erin" not in text.stdout
