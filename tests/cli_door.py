"""The door served for `casework` commands in tests: the real app (`casework.door.app`) under
uvicorn on a free port, on the test's event loop with a Temporal client of its own, over
the test's database, worker and state folder; and a profiles file with a key for every person
of the demo directory, as `casework up` writes one.

The CLI then runs as a user runs it: it finds a credential (`--profile`, CASEWORK_PROFILE or
the file's default) and talks HTTP to the door, never to Temporal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
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
from tests.ports import free_port
from tests.waiting import eventually

DEFAULT_PROFILE = "acme-alice"
"""Who a command is when a test names nobody: the contact who opens Acme's cases."""


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
    (a `clock` for the door).

    Served on the test's own event loop, as a task: the CLI runs in a thread of its own
    (`tests.test_cli.cli`), and the browser's driver too, so the loop is free to answer them.
    (It used to run in a thread with an event loop and a Temporal client of its own: a
    pytest process crashed with a segfault as such a thread started, in 2 of 8 full runs,
    cause then unknown. One loop, one thread, no second loop for the SDK to answer onto. The
    cause, found later in a core dump: a setenv beside a worker's validation, `running` in
    tests/conftest.py.)"""
    port = free_port()
    client = await Client.connect(  # the engine's converter; tokens for skipped time
        target,
        namespace=namespace,
        data_converter=CONVERTER,
        interceptors=[PrincipalHeaders(TEST_RING, ttl=SKIPPED_TIME_TTL)],
    )
    app = create_app(
        store=store,
        client=client,
        ring=ring or TEST_RING,
        task_queue=task_queue,
        attachments=AttachmentStore(state_dir / "attachments"),
        case_options=case_options,
        **options,
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve(), name=f"door-{port}")

    def started() -> bool:
        if server.started:
            return True
        if serving.done():
            failure = None if serving.cancelled() else serving.exception()
            raise AssertionError(f"the door did not start: {failure!r}")
        return False

    await eventually(started, what=f"the door on port {port} to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, SETTLE_TIMEOUT)
