"""Free TCP ports for the servers a test starts (doors, Web UIs, metrics, PostgreSQL).

The kernel may hand back a port it just handed out once its socket is closed, so two calls in
a row could name one port twice (`casework up --port P --api-port P` was refused so, once,
beside a second full run). A port is handed out once per test process here."""

from __future__ import annotations

import socket

_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port free this moment and not handed out before by this process."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def free_port_pair() -> int:
    """A free port whose next port is free too (casework's metrics and the SDK's)."""
    while True:
        port = free_port()
        if port + 1 in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        _HANDED_OUT.add(port + 1)
        return port
