"""`casework keyring init | export | import` without `casework up` (issue 27): a ring made before
anything runs, backed up and restored, and every way it could lose a key refused, changing
nothing."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from casework.cli import app


def keyring(state: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, ["--state-dir", str(state), "keyring", *args], input=stdin)


@pytest.fixture(autouse=True)
def no_ring_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("CASEWORK_KEYRING", "CASEWORK_KEYRING_FILE", "CASEWORK_STATE_DIR"):
        monkeypatch.delenv(variable, raising=False)


def ids(path: Path) -> list[str]:
    return [k["id"] for k in json.loads(path.read_text())["keys"]]


def test_a_ring_is_made_backed_up_and_restored_without_the_engine(tmp_path: Path) -> None:
    state, restored = tmp_path / "state", tmp_path / "restored"
    made = keyring(state, "init")
    assert made.exit_code == 0, made.output
    ring = state / "keyring.json"
    assert stat.S_IMODE(ring.stat().st_mode) == 0o600
    assert len(ids(ring)) == 3 and all(i in made.output for i in ids(ring))
    secrets = [k["secret"] for k in json.loads(ring.read_text())["keys"]]
    assert not any(s in made.output for s in secrets), "init shows ids, never a secret"

    again = keyring(state, "init")
    assert again.exit_code == 2 and "there is a key ring at" in again.output
    assert ids(ring) == ids(tmp_path / "state" / "keyring.json")

    backup = tmp_path / "backup" / "ring.json"
    exported = keyring(state, "export", "--to", str(backup))
    assert exported.exit_code == 0, exported.output
    assert backup.read_text() == ring.read_text()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert keyring(state, "export", "--to", str(backup)).exit_code == 2, "never overwritten"

    imported = keyring(restored, "import", str(backup))
    assert imported.exit_code == 0, imported.output
    assert (restored / "keyring.json").read_text() == ring.read_text()
    piped = keyring(
        tmp_path / "piped", "import", "-", stdin=keyring(state, "export", "--to", "-").output
    )
    assert piped.exit_code == 0, piped.output
    assert ids(tmp_path / "piped" / "keyring.json") == ids(ring)


def test_an_import_that_would_lose_a_key_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert keyring(state, "init").exit_code == 0
    old = tmp_path / "old.json"
    assert keyring(state, "export", "--to", str(old)).exit_code == 0
    assert keyring(state, "rotate", "payload").exit_code == 0
    before = (state / "keyring.json").read_text()

    lossy = keyring(state, "import", str(old))
    assert lossy.exit_code == 2 and "the import lacks" in lossy.output and "--merge" in lossy.output
    assert (state / "keyring.json").read_text() == before
    merged = keyring(state, "import", str(old), "--merge")
    assert merged.exit_code == 0 and sorted(ids(state / "keyring.json")) == sorted(
        json.loads(before)["keys"][i]["id"] for i in range(4)
    )

    forged = json.loads(old.read_text())
    forged["keys"][0]["secret"] = forged["keys"][1]["secret"]
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    clash = keyring(state, "import", str(tmp_path / "forged.json"), "--merge")
    assert clash.exit_code == 2 and "has another secret" in clash.output

    for bad, said in (
        ("{not json", "cannot be read"),
        ('{"version": 1, "keys": []}', "no signing key"),
    ):
        (tmp_path / "bad.json").write_text(bad)
        refused = keyring(state, "import", str(tmp_path / "bad.json"))
        assert refused.exit_code == 2 and said in refused.output, refused.output
    assert keyring(state, "import", str(tmp_path / "missing.json")).exit_code == 2
    assert len(ids(state / "keyring.json")) == 4
