"""Running the door: in `casework up` (an asyncio task beside the worker, stopped with it) or
alone (`casework door`, against any Temporal address), and what `casework up` makes for a
newcomer on first run: an API key for each person of the demo directory, as profiles.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from casework.door.access_log import AccessLog
from casework.door.credentials import create_key
from casework.door.people import directory_ids
from casework.identity.keyring import write_private
from casework.store import Store

PROFILES = "profiles.toml"
START_TIMEOUT = 30.0
"""Seconds the door gets to listen before `casework up` gives up."""
STOP_GRACE = 5
"""Seconds requests in flight get to finish when the door stops."""
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class DoorRefused(Exception):
    """The door could not start (its port taken, ...); the message says why."""


class _EmbeddedServer(uvicorn.Server):
    """uvicorn, without its own signal handling: the process that embeds it (`casework up`)
    owns SIGINT/SIGTERM and stops the door with `should_exit`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class RunningDoor:
    server: uvicorn.Server
    task: asyncio.Task[None]
    url: str

    async def stop(self) -> None:
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, SystemExit, Exception):
            await self.task


async def start_door(app: FastAPI, host: str, port: int) -> RunningDoor:
    """Serve `app` on host:port in this event loop; returns once it listens (DoorRefused if
    it cannot)."""
    config = uvicorn.Config(
        AccessLog(app),  # issue 27: one line per request, no bodies, no credentials
        host=host,
        port=port,
        log_level="warning",
        log_config=None,  # uvicorn's lines go through casework's handler (JSON, redacted)
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=STOP_GRACE,
        server_header=False,
    )
    server = _EmbeddedServer(config)
    task = asyncio.ensure_future(server.serve())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while not server.started:
        if task.done():
            error = None if task.cancelled() else task.exception()
            raise DoorRefused(
                f"the door could not listen on {host}:{port}"
                + (f" ({error})" if error and not isinstance(error, SystemExit) else "")
                + ": is the port taken? choose another with --api-port"
            )
        if loop.time() > deadline:
            server.should_exit = True
            raise DoorRefused(f"the door did not start listening within {START_TIMEOUT:.0f} s")
        await asyncio.sleep(0.05)
    return RunningDoor(server=server, task=task, url=f"http://{host}:{port}")


def demo_profiles(store: Store, state_dir: Path, url: str) -> Path | None:
    """On first run (no API key in the database): a key for each person of the directory,
    written as profiles to `<state>/profiles.toml` (0600). None when keys exist already."""
    if store.api_keys.count() > 0:
        _point_profiles_at(state_dir / PROFILES, url)
        return None
    lines = [
        "# casework profiles: an API key for each person of the demo directory, made by",
        "# `casework up` on first run. Readable by you only; anyone with a key acts as its person.",
        "# Revoke with `casework keys revoke <id>`; make more with `casework keys create`.",
    ]
    for person in directory_ids(store):
        key = create_key(store, person, label="demo profile (casework up)", created_by="up")
        name = person if _BARE_KEY.match(person) else f'"{person}"'
        lines += ["", f"[profiles.{name}]", f'url = "{url}"', f'key = "{key.token}"']
    path = state_dir / PROFILES
    write_private(path, "\n".join(lines) + "\n")
    return path


def owner_only(state_dir: Path) -> None:
    """Everything under the state folder readable by its owner only: folders 0700, files
    0600 (a state folder from an older casework had world-readable SQLite files)."""
    if not state_dir.exists():
        return
    os.chmod(state_dir, 0o700)
    for root, folders, files in os.walk(state_dir):
        for name in folders:
            _chmod(Path(root, name), 0o700)
        for name in files:
            _chmod(Path(root, name), 0o600)


def _chmod(path: Path, mode: int) -> None:
    with contextlib.suppress(FileNotFoundError):  # a temporary file gone meanwhile
        if not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) != mode:
            os.chmod(path, mode)


def _point_profiles_at(path: Path, url: str) -> None:
    """A restart on another --api-port: the demo profiles follow the door (their keys stay)."""
    if not path.exists():
        return
    text = path.read_text()
    moved = re.sub(r'(?m)^url = "[^"]*"$', f'url = "{url}"', text)
    if moved != text:
        write_private(path, moved)
