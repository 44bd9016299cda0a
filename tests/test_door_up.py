"""`casework up` runs the door (issue 10): its banner names the API, first run writes a profile
per person of the demo directory, and everything under the state folder is its owner's only."""

from __future__ import annotations

import socket
import stat
import tomllib
from pathlib import Path

import httpx
import pytest

from tests.test_up import Engine, engines, free_port  # noqa: F401 (engines is a fixture)

pytestmark = pytest.mark.timeout(150)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_up_serves_the_door_with_demo_profiles_and_keeps_its_state_private(
    tmp_path: Path,
    engines: list[Engine],  # noqa: F811
) -> None:
    state = tmp_path / "state"
    api_port = free_port()
    engine = Engine(state, free_port(), free_port(), "--api-port", str(api_port))
    engines.append(engine)
    api = engine.wait_for("API:")
    assert f"http://127.0.0.1:{api_port}" in api and "/openapi.json" in api
    page = engine.wait_for("Web page:")
    assert f"http://127.0.0.1:{api_port}/" in page and "Case Center" in page
    profiles_line = engine.wait_for("Profiles:")
    assert str(state / "profiles.toml") in profiles_line
    engine.wait_for("Ctrl+C")

    profiles = tomllib.loads((state / "profiles.toml").read_text())["profiles"]
    assert {"acme-alice", "cc-dana", "usc-kara", "em-ines", "nw-nora"} <= set(profiles)
    alice = profiles["acme-alice"]
    assert alice["url"] == f"http://127.0.0.1:{api_port}"
    whoami = httpx.get(
        f"{alice['url']}/v1/whoami", headers={"Authorization": f"Bearer {alice['key']}"}
    )
    assert whoami.status_code == 200, whoami.text
    assert whoami.json()["id"] == "acme-alice"
    assert httpx.get(f"{alice['url']}/v1/whoami").status_code == 401
    signin = httpx.get(f"{alice['url']}/", follow_redirects=True)  # the Case Center page
    assert signin.status_code == 200 and "Sign in to the Case Center" in signin.text

    assert mode(state) == 0o700
    for name in ("temporal.db", "casework.db", "temporal.log", "keyring.json", "profiles.toml"):
        assert mode(state / name) == 0o600, f"{name} is {oct(mode(state / name))}"
    everything = list(state.rglob("*"))
    loose = [p for p in everything if mode(p) & 0o077]
    assert loose == [], f"readable by others: {loose}"
    assert engine.stop() == 0


def test_up_refuses_an_api_port_in_use_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        engine = Engine(tmp_path / "state", free_port(), free_port(), "--api-port", str(port))
        said = engine.wait_for("already in use")
        code = engine.process.wait(60)
    assert code == 1
    assert "--api-port" in said
    assert not (tmp_path / "state" / "temporal.db").exists()
