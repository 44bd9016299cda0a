"""`casework up` starts a local SMTP sink and prints it (issue 14): the relay mails what the
engine decides to the sink, which keeps each mail under `<state>/mail/`, and `casework mail`
lists them."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import httpx
import pytest

from tests.test_up import CASEWORK, Engine, clean_env, engines, free_port  # noqa: F401
from tests.waiting import eventually_sync

pytestmark = pytest.mark.timeout(150)


def test_up_mails_a_new_case_to_its_sink_and_casework_mail_lists_it(
    tmp_path: Path,
    engines: list[Engine],  # noqa: F811
) -> None:
    state = tmp_path / "state"
    smtp_port = free_port()
    engine = Engine(state, free_port(), free_port(), "--smtp-port", str(smtp_port))
    engines.append(engine)
    mail_line = engine.wait_for("Mail:")
    assert f"smtp 127.0.0.1:{smtp_port}" in mail_line and str(state / "mail") in mail_line
    engine.wait_for("Ctrl+C")
    alice = tomllib.loads((state / "profiles.toml").read_text())["profiles"]["acme-alice"]
    opened = httpx.post(
        f"{alice['url']}/v1/cases",
        headers={"Authorization": f"Bearer {alice['key']}"},
        json={
            "product": "FortiGate",
            "version": "7.4.3",
            "priority": "P3",
            "description": "HA cluster fails over",
        },
        timeout=60,
    )
    assert opened.status_code == 200, opened.text
    case_id = opened.json()["case_id"]

    def listed() -> list[dict[str, str]]:
        result = subprocess.run(
            [CASEWORK, "--state-dir", str(state), "mail", "--output", "json"],
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return [m for m in json.loads(result.stdout) if m["case"] == case_id]

    mails = eventually_sync(
        listed,
        every=0.5,
        until=lambda mails: any(m["to"] == "alice@acme.example" for m in mails),
        what=f"the mail to Alice about {case_id}",
    )
    assert all(m["message_id"].endswith("@casework>") for m in mails)
    assert engine.stop() == 0
