"""What `casework up` is told (`UpOptions`) and what it checks before it starts anything: the
policy and directory files, and its ports."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from casework.dev_server import UpRefused
from casework.domain.sla import DEFAULT_POLICY
from casework.engine import load_directory, load_policy
from casework.settings import Settings
from casework.yamlfiles import FileRefused

HOST = "127.0.0.1"


@dataclass(frozen=True)
class UpOptions:
    settings: Settings
    port: int = 7233
    ui_port: int = 8233
    api_port: int = 8234
    metrics_port: int = 8235
    """casework's Prometheus metrics; the Temporal SDK's on the next port (casework.metrics)."""
    smtp_port: int = 0
    """The local SMTP sink's port (issue 14); 0: any free port, printed."""
    database_given: bool = False
    """The database was named (--database, --db-url, CASEWORK_DB_URL): it must be the one the
    state folder's engine recorded, if it recorded one (casework.engine_record)."""


def check_files(settings: Settings) -> None:
    """S5: the policy and directory files are valid before anything starts (FileRefused)."""
    problems = []
    policy = DEFAULT_POLICY  # the directory's tiers are checked against it if the file is bad
    try:
        policy = load_policy(settings)
    except FileRefused as e:
        problems.append(str(e))
    if settings.directory_file is not None:
        try:
            load_directory(settings.directory_file, policy)
        except FileRefused as e:
            problems.append(str(e))
    if problems:
        raise FileRefused("\n".join(problems))


def port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return True
    return False


def check_ports(options: UpOptions) -> None:
    ports = (
        ("--port", options.port),
        ("--ui-port", options.ui_port),
        ("--api-port", options.api_port),
        ("--metrics-port", options.metrics_port),
        ("--metrics-port (+1, the SDK's)", options.metrics_port + 1),
        *((("--smtp-port", options.smtp_port),) if options.smtp_port else ()),
    )
    for i, (flag, port) in enumerate(ports):
        for other, same in ports[i + 1 :]:
            if port == same:
                raise UpRefused(f"{flag} and {other} are both {port}: give them different ports")
    for flag, port in ports:
        if not 0 < port < 65536:
            raise UpRefused(f"{flag} {port} is not a TCP port; use a number from 1 to 65535", 2)
        if port_taken(port):
            raise UpRefused(
                f"port {port} ({flag}) is already in use, perhaps by another `casework up` or "
                f"Temporal server: stop it, or choose a free port with {flag}"
            )
