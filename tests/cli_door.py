"""The door served for `casework` commands in tests: the real app (`casework.door.app`) under
uvicorn on a free port, in a thread with its own event loop and its own Temporal client, over
the test's database, worker and state folder; and a profiles file with a key for every person
of the demo directory, as `casework up` writes one.

The CLI then runs as a user runs it: it finds a credential (`--profile`, CASEWORK_PROFILE or
the file's default) and talks HTTP to the door, never to Temporal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from temporalio.client import Client

from casework.attachments import AttachmentStore
from casework.door.app import create_app
from casework.door.credentials import create_key
from casework.door.people import directory_ids
from casework.identity.interceptors import PrincipalHeaders
from casework.identity.keyring import KeyRing
from casework.store import Store
from tests.conftest import CONVERTER, SETTLE_TIMEOUT, SKIPPED_TIME_TTL, TEST_RING
from tests.waiting import eventually

DEFAULT_PROFILE = "acme-alice"
"""Who a command is when a test names nobody: the contact who opens Acme's cases."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_profiles(store: Store, url: str, path: Path, default: str = DEFAULT_PROFILE) -> Path:
    """A profiles file with a fresh key for each person of the directory, readable by its
    owner only."""
    lines = [f'default = "{default}"', ""]
    for person in directory_ids(store):
        key = create_key(store, person, label="tests").token
        lines += [f'[profiles."{person}"]', f'url = "{url}"', f'key = "{key}"', ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    os.chmod(path, 0o600)
    return path


KEPT: list[object] = []
"""Every door thread's event loop and Temporal client, for the life of the test process."""


@contextlib.asynccontextmanager
async def serving_door(
    store: Store,
    *,
    target: str,
    namespace: str,
    task_queue: str,
    state_dir: Path,
    case_options: dict[str, Any] | None = None,
    ring: KeyRing | None = None,
    **options: Any,
) -> AsyncIterator[str]:
    """The door's URL while it serves; stopped afterwards. `options`: more of `create_app`'s
    (a `clock` for the door)."""
    port = free_port()
    servers: list[uvicorn.Server] = []
    failed: list[BaseException] = []

    async def serve() -> None:
        client = await Client.connect(  # the engine's converter; tokens for skipped time
            target,
            namespace=namespace,
            data_converter=CONVERTER,
            interceptors=[PrincipalHeaders(TEST_RING, ttl=SKIPPED_TIME_TTL)],
        )
        KEPT.append(client)
        app = create_app(
            store=store,
            client=client,
            ring=ring or TEST_RING,
            task_queue=task_queue,
            attachments=AttachmentStore(state_dir / "attachments"),
            case_options=case_options,
            **options,
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        servers.append(server)
        await server.serve()

    def run() -> None:
        # The door's loop is never closed, and it is kept with its client (KEPT): a Temporal
        # call still in flight when the door stops is answered later from one of the SDK's own
        # threads onto this loop, and onto a closed and freed one that answer crashed the
        # process (a segfault in 2 of 5 full runs, in the next test's setup).
        loop = asyncio.new_event_loop()
        KEPT.append(loop)
        try:
            loop.run_until_complete(serve())
        except BaseException as e:  # reported by the test, not lost in the thread
            failed.append(e)

    thread = threading.Thread(target=run, name=f"door-{port}", daemon=True)
    thread.start()

    def started() -> bool:
        if servers and servers[0].started:
            return True
        if failed or not thread.is_alive():
            raise AssertionError(f"the door did not start: {failed}")
        return False

    await eventually(started, what=f"the door on port {port} to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        servers[0].should_exit = True
        await asyncio.to_thread(thread.join, SETTLE_TIMEOUT)
