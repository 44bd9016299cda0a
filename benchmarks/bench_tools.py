"""What the benchmark scripts share: the installed binaries, a percentile, what a run costs (CPU,
memory, the machine's load), and the demo cases they open and work. The engines they run
against (`local_engine`, `running_engine`, `running_deployment`, `bare_worker`) are in
bench_engines.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # tests/ (the door's and the workers' set-up), worker.py
sys.path.insert(0, str(BENCHMARKS))  # bare_case.py, as the bare worker imports it

from bare_case import BareLocalCase  # noqa: E402  (beside this module)
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle  # noqa: E402
from temporalio.common import WorkflowIDConflictPolicy  # noqa: E402

from casework.domain.actions import ActionResult  # noqa: E402
from casework.domain.models import CaseView, Channel, OpenCaseRequest, Priority  # noqa: E402
from casework.identity.interceptors import acting  # noqa: E402
from casework.identity.principal import Principal  # noqa: E402


def binary(name: str) -> str:
    """A program of this environment (`temporal`, `temporal-test-server`, `casework`)."""
    found = Path(sys.prefix, "bin", name)
    path = str(found) if found.exists() else shutil.which(name)
    if not path:
        raise SystemExit(f"{name} is not installed: pip install -e '.[test]'")
    return path


def percentile(samples: list[float], p: float) -> float:
    """The sample at or just above the p-th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by this process (client and worker) and by its child processes
    still running (the Temporal server), read from /proc: a cost per case that holds steady
    when other work shares the machine, unlike a rate."""
    ticks = os.sysconf("SC_CLK_TCK")
    own = time.process_time()
    children = 0.0
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children += (int(fields[11]) + int(fields[12])) / ticks
    return own, children


ROLES = (
    ("temporal server", "server"),
    ("casework worker", "worker"),
    ("casework api", "door"),
    ("casework up", "up"),
    ("bare_worker", "bare worker"),
)
"""A process's role in a run, by what its command line holds (the first that matches)."""


def tree_cpu_by_role() -> dict[str, float]:
    """CPU seconds used so far by this process ("client") and every live process below it,
    however deep, by role (`ROLES`; "other" for the rest, e.g. the SMTP sink): which process
    a run's CPU went to, to tell what limits it and what more cores would give."""
    ticks = os.sysconf("SC_CLK_TCK")
    below: dict[int, list[int]] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue
        pid = int(entry.name)
        below.setdefault(int(fields[1]), []).append(pid)
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks
    roles: dict[str, float] = {}
    todo = [os.getpid()]
    while todo:
        pid = todo.pop()
        todo += below.get(pid, [])
        role = "client" if pid == os.getpid() else _role(pid)
        roles[role] = roles.get(role, 0.0) + used.get(pid, 0.0)
    return roles


def _role(pid: int) -> str:
    try:
        line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "other"
    return next((role for mark, role in ROLES if mark in line), "other")


def rss_mb() -> float:
    """This process's resident memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_average() -> str:
    """The machine's load average over 1, 5 and 15 minutes (it is shared: say how busy)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the demo cases the benchmarks open and work --------------------------------------------


def acme_request(n: int, prefix: str = "bench", description: str = "") -> OpenCaseRequest:
    """A case of Acme's contact Alice (Gold): FortiGate 7.4.3, P3, routed as it opens (E1),
    its first-response target hours away."""
    return OpenCaseRequest(
        request_id=f"{prefix}-{n}-{uuid.uuid4().hex[:12]}",
        channel=Channel.WEB,
        account_id="acme",
        contact_id="acme-alice",
        product="FortiGate",
        version="7.4.3",
        priority=Priority.P3,
        description=description or f"benchmark case {n}",
    )


def outage_request(n: int, prefix: str) -> OpenCaseRequest:
    """A P1 outage of Globex's contact Carol (Gold): FortiManager 7.2.1; its first-response
    target is the policy's P1 (S1), which the breach benchmarks make short (S5)."""
    return OpenCaseRequest(
        request_id=f"{prefix}-{n}-{uuid.uuid4().hex[:6]}",
        channel=Channel.WEB,
        account_id="globex",
        contact_id="globex-carol",
        product="FortiManager",
        version="7.2.1",
        priority=Priority.P1,
        description=f"outage {n}",
    )


def closing_steps(owner: str, contact: str = "acme-alice") -> list[tuple[str, str, dict[str, str]]]:
    """The rest of a lifecycle after the open: (action, who, fields) for the owner's first
    response, the owner's resolution and the customer's close."""
    return [
        ("respond", owner, {"text": "looking"}),
        ("resolve", owner, {"resolution": "fixed"}),
        ("close", contact, {"reason": "thanks"}),
    ]


async def act(
    handle: WorkflowHandle[Any, Any], action: str, who: str, fields: dict[str, Any]
) -> ActionResult:
    """An action as the door sends it: an update signed for who acts (through a client of
    `LocalEngine.door`)."""
    with acting(Principal(id=who, via="api-key")):
        return await handle.execute_update(action, fields, result_type=ActionResult)


async def until_routed(handle: WorkflowHandle[Any, Any], viewer: str = "acme-alice") -> str:
    """The engineer the case went to (E1), asking the case until it says."""
    import asyncio

    while True:
        view = await handle.query("view", {"viewer": viewer}, result_type=CaseView)
        if view.owner is not None:
            return view.owner.engineer_id
        await asyncio.sleep(0.02)


Timed = Callable[[str, Awaitable[Any]], Awaitable[Any]]
"""`timed(action, work)`: awaits `work` and notes how long `action` took."""


async def bare_local_lifecycle(client: Client, task_queue: str, timed: Timed) -> None:
    """One lifecycle of the bare workflow with local activities (bare_case.BareLocalCase) on
    `task_queue`: open (update-with-start, one round trip), respond, resolve, close."""
    start = WithStartWorkflowOperation(
        BareLocalCase.run,
        id=f"bare-local-{uuid.uuid4().hex}",
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    await timed(
        "open",
        client.execute_update_with_start_workflow(
            BareLocalCase.open, "x", start_workflow_operation=start
        ),
    )
    handle = await start.workflow_handle()
    for action in ("respond", "resolve", "close"):
        await timed(action, handle.execute_update(action, "x", result_type=str))
