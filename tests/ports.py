"""Free TCP ports for the servers a test starts (doors, Web UIs, metrics, PostgreSQL).

A port is chosen below the kernel's ephemeral range (`ip_local_port_range`, 32768 and up by
default): the kernel gives the ports of that range to every outgoing connection and to every
`bind(port 0)`, so a port found free there could be taken by any client of the machine (a
second full run's gRPC and HTTP connections) before the test's server binds it: `casework up`
once failed with "Address already in use" on its metrics port so, and twice refused one port
given twice (`--port P --api-port P`). Below the range only another test's choice can take
it, at random in a range of thousands, and this process hands each port out once. Under
pytest-xdist each test process chooses in a slice of the range of its own: two processes
once chose the same port, and the second door to bind it failed "address already in use".
"""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

_HANDED_OUT: set[int] = set()
_LOWEST = 10_000
_CHOOSE = random.Random()  # seeded from the OS: each test process picks its own


def _range() -> tuple[int, int]:
    """Where to choose: from 10000 up to just below the ephemeral range (at most 32767), this
    test process's slice of it (pytest-xdist's gw<n> of PYTEST_XDIST_WORKER_COUNT). The last
    port of a slice is never chosen, so `free_port_pair`'s next port stays in the slice."""
    try:
        first = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first = 32_768
    low, high = _LOWEST, max(_LOWEST + 1_000, min(first, 32_768) - 1)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if worker.startswith("gw") and worker[2:].isdigit() and count > 1:
        width = (high - low + 1) // count
        low += int(worker[2:]) % count * width
        high = low + width - 1
    return low, high - 1


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port free this moment, outside the ephemeral range, not handed out before here."""
    low, high = _range()
    while True:
        port = _CHOOSE.randint(low, high)
        if port not in _HANDED_OUT and _bindable(port):
            _HANDED_OUT.add(port)
            return port


def free_port_pair() -> int:
    """A free port whose next port is free too (casework's metrics and the SDK's)."""
    while True:
        port = free_port()
        if port + 1 not in _HANDED_OUT and _bindable(port + 1):
            _HANDED_OUT.add(port + 1)
            return port
