"""`casework up` as a user runs it: a subprocess with its own dev server, worker and state.

Free ports come from the OS and the state folder is the test's own, so it never meets the
engine a developer may be running on 7233.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import stat
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from casework.settings import DEMO_DIRECTORY
from tests.conftest import binary
from tests.ports import free_port, free_port_pair  # noqa: F401 (others import them from here)
from tests.waiting import eventually_sync

pytestmark = pytest.mark.timeout(150)

CASEWORK = binary("casework")
START_TIMEOUT = 90.0
"""Until `casework up` says it is up: 5 to 10 s on an idle machine, up to 35 s seen in CI's
slow tier beside the CPU-bound simulator runs."""
STOP_TIMEOUT = 30.0


def several_engines(test: Callable[..., None]) -> Callable[..., None]:
    """The folder lock's drills start two or three `casework up` processes one after the
    other: the slow tier, beside the other drills of several processes (it keeps the README's
    test command under five minutes), with time for three starts on busy cores."""
    return pytest.mark.slow(pytest.mark.timeout(240)(test))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "CASEWORK_"))}
    env.update(extra)
    return env


def processes_using(path: Path) -> list[int]:
    """Pids whose command line names `path` (the server's database file)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(path) in cmdline:
            found.append(int(proc.name))
    return found


class Engine:
    """One `casework up` subprocess; its output read on a thread so nothing blocks."""

    def __init__(self, state: Path, port: int, ui_port: int, *extra: str, **env: str) -> None:
        self.address = f"127.0.0.1:{port}"
        self.state = state
        if "--api-port" not in extra:  # the door's default port may be taken on this machine
            extra = (*extra, "--api-port", str(free_port()))
        if "--metrics-port" not in extra:
            extra = (*extra, "--metrics-port", str(free_port_pair()))
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [CASEWORK, "up", "--port", str(port), "--ui-port", str(ui_port)]
            + ["--state-dir", str(state), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=clean_env(**env),
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = START_TIMEOUT) -> str:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                said = "".join(self.output)
                raise AssertionError(f"no {text!r} from casework up: {said}") from None
            self.output.append(line)
            if text in line:
                return line

    def everything_said(self) -> str:
        """All the engine printed (once it has stopped: the rest of its output too)."""
        while True:
            try:
                self.output.append(self.lines.get_nowait())
            except queue.Empty:
                return "".join(self.output)

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        """Another program (the `temporal` CLI) pointed at this engine."""
        return subprocess.run(
            list(command),
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(TEMPORAL_ADDRESS=self.address),
        )

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(STOP_TIMEOUT)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def casework(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CASEWORK, *args],
            capture_output=True,
            text=True,
            timeout=60,
            # the CLI encrypts with the engine's key ring, in its state folder (casework.codec)
            env=clean_env(TEMPORAL_ADDRESS=self.address, CASEWORK_STATE_DIR=str(self.state)),
        )


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    started: list[Engine] = []
    yield started
    for engine in started:
        engine.kill()


def test_up_serves_cases_stops_cleanly_and_keeps_them_across_a_restart(
    tmp_path: Path, engines: list[Engine]
) -> None:
    state = tmp_path / "state"
    port, ui_port = free_port(), free_port()
    engine = Engine(state, port, ui_port)
    engines.append(engine)
    ui = engine.wait_for("Web UI:")
    assert f"http://127.0.0.1:{ui_port}" in ui  # the codec's host: one site for its cookie
    engine.wait_for("Ctrl+C")

    opened = engine.casework(  # Customer Care takes globex-carol's call (demo profile)
        *("--profile", "cc-dana", "open", "--channel", "phone", "--account", "globex"),
        *("--contact", "globex-carol", "--product", "FortiManager", "--version", "7.2.1"),
        *("--priority", "P2", "--description", "Policy install fails"),
    )
    assert opened.returncode == 0, opened.stderr
    case_id = opened.stdout.split()[0]
    assert case_id.startswith("case-")
    shown = engine.casework("--profile", "globex-carol", "show", case_id)
    assert shown.returncode == 0, shown.stderr
    assert case_id in shown.stdout and "GOLD" in shown.stdout

    assert engine.stop() == 0
    assert processes_using(state / "temporal.db") == [], "the dev server outlived casework up"

    again = Engine(state, port, ui_port)
    engines.append(again)
    again.wait_for("Web UI:")
    shown = again.casework("--profile", "globex-carol", "show", case_id, "--output", "json")
    assert shown.returncode == 0, shown.stderr
    assert f'"case_id": "{case_id}"' in shown.stdout
    assert '"state": "in_progress"' in shown.stdout
    assert again.stop() == 0
    assert processes_using(state / "temporal.db") == []


def test_up_refuses_a_taken_port_and_a_bad_file_before_starting_anything(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [CASEWORK, "up", "--port", str(port), "--ui-port", str(free_port())]
            + ["--state-dir", str(tmp_path / "a")],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
        )
    assert result.returncode == 1
    assert f"port {port} (--port) is already in use" in result.stderr
    assert not (tmp_path / "a" / "temporal.db").exists()

    bad = tmp_path / "directory.yaml"
    bad.write_text(DEMO_DIRECTORY.read_text().replace("level: L3", "level: L4"))
    result = subprocess.run(
        [CASEWORK, "up", "--port", str(free_port()), "--ui-port", str(free_port())]
        + ["--state-dir", str(tmp_path / "b"), "--directory", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert result.returncode == 2
    assert f"{bad}:" in result.stderr and "engineers.4.level" in result.stderr
    assert "Nothing was started" in result.stderr
    assert not (tmp_path / "b").exists()
    assert "Traceback" not in result.stderr


@several_engines
def test_a_second_up_on_the_same_state_folder_is_refused_naming_the_holder(
    tmp_path: Path, engines: list[Engine]
) -> None:
    state = tmp_path / "state"
    first = Engine(state, free_port(), free_port())
    engines.append(first)
    first.wait_for("Ctrl+C")

    second = Engine(state, free_port(), free_port())  # its own ports: only the folder is shared
    engines.append(second)
    assert second.process.wait(STOP_TIMEOUT) == 1
    said = second.everything_said()
    assert f"{state} is in use by casework up, pid {first.process.pid}" in said, said
    assert "Nothing was started" in said
    assert len(processes_using(state / "temporal.db")) == 1, "a second server on the folder"
    assert stat.S_IMODE((state / "engine.lock").stat().st_mode) == 0o600

    assert first.stop() == 0
    assert not (state / "engine.lock").exists(), "the lock outlived casework up"
    third = Engine(state, free_port(), free_port())
    engines.append(third)
    third.wait_for("Ctrl+C")
    assert "stale" not in third.everything_said()
    assert third.stop() == 0


@several_engines
def test_up_takes_over_the_lock_of_a_killed_engine_and_says_so(
    tmp_path: Path, engines: list[Engine]
) -> None:
    state = tmp_path / "state"
    killed = Engine(state, free_port(), free_port())
    engines.append(killed)
    killed.wait_for("Ctrl+C")
    killed.kill()  # SIGKILL: no chance to release the lock
    eventually_sync(
        lambda: not processes_using(state / "temporal.db"),
        STOP_TIMEOUT,
        every=0.2,
        what="its dev server to follow it (PR_SET_PDEATHSIG)",
    )
    assert (state / "engine.lock").exists()

    again = Engine(state, free_port(), free_port())
    engines.append(again)
    note = again.wait_for("stale")
    assert f"pid {killed.process.pid}" in note and "no longer runs" in note
    again.wait_for("Ctrl+C")
    assert again.stop() == 0


@several_engines
def test_a_worker_on_a_folder_an_engine_holds_is_refused_unless_it_joins(
    tmp_path: Path, engines: list[Engine]
) -> None:
    state = tmp_path / "state"
    engine = Engine(state, free_port(), free_port())
    engines.append(engine)
    engine.wait_for("Ctrl+C")
    env = clean_env(CASEWORK_STATE_DIR=str(state))

    refused = subprocess.run(
        [CASEWORK, "worker"], capture_output=True, text=True, timeout=60, env=env
    )
    assert refused.returncode == 1
    assert f"in use by casework up, pid {engine.process.pid}" in refused.stderr
    assert "--join" in refused.stderr

    helped = subprocess.run(
        [CASEWORK, "worker", "--help"], capture_output=True, text=True, timeout=60, env=env
    )
    assert "--join" in helped.stdout

    # no TEMPORAL_ADDRESS: a joining worker serves the engine it joins
    joined = subprocess.Popen(
        [CASEWORK, "worker", "--join"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert joined.stdout is not None
        said = []
        for line in joined.stdout:
            said.append(line)
            if "casework worker on task queue" in line:
                break
        assert any("joins casework up, pid" in line for line in said), "".join(said)
        assert joined.poll() is None, "".join(said)
    finally:
        joined.kill()
        joined.wait()


def test_up_shows_the_log_of_this_server_run_when_the_server_dies(
    tmp_path: Path, engines: list[Engine]
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    earlier = [f"line {n} of an earlier server run" for n in range(40)]
    (state / "temporal.log").write_text("\n".join(earlier) + "\n")
    (state / "temporal.log").chmod(0o600)
    port = free_port()
    engine = Engine(state, port, free_port())
    engines.append(engine)
    engine.wait_for("Ctrl+C")

    for pid in processes_using(state / "temporal.db"):
        os.kill(pid, signal.SIGKILL)
    assert engine.process.wait(STOP_TIMEOUT) == 1
    said = engine.everything_said().partition("the Temporal server stopped unexpectedly")[2]
    assert said, engine.everything_said()
    assert "earlier server run" not in said, said
    assert f"localhost:{port}" in said, said  # what this run's server printed at start
