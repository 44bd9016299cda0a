"""The suite waits on state, never on a fixed pause (issue 25: no fixed sleeps, one waiting
helper).

A test that sleeps is slow where the machine is idle and flaky where it is loaded; a loop that
sleeps until something holds is a second waiting helper, with its own timeout and its own
failure message. Waiting goes through tests/waiting.py (`eventually`, `eventually_sync`,
`within`), the one module that may call `asyncio.sleep` or `time.sleep`. Anywhere else in
tests/ such a call needs the words "not a wait on state" on its line or the line above,
saying what it is instead (a client honouring a server's Retry-After). `asyncio.sleep(0)`
(a yield) and the time-skipping server's `env.sleep` (no real time passes) are not pauses.

Read with `ast`: nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
HELPER = TESTS / "waiting.py"
EXCUSE = "not a wait on state"


def fixed_sleeps(source: str) -> list[int]:
    """The lines of `source` that call `asyncio.sleep` or `time.sleep` (or a `sleep` imported
    from either) with anything but 0, and give no reason."""
    tree = ast.parse(source)
    bare = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module in ("asyncio", "time")
        for alias in node.names
        if alias.name == "sleep"
    }
    lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        is_sleep = (
            isinstance(func, ast.Attribute)
            and func.attr == "sleep"
            and isinstance(func.value, ast.Name)
            and func.value.id in ("asyncio", "time")
        ) or (isinstance(func, ast.Name) and func.id in bare)
        if not is_sleep:
            continue
        if node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == 0:
            continue  # a yield to the event loop
        said = " ".join(lines[max(node.lineno - 2, 0) : node.lineno])
        if EXCUSE not in said:
            found.append(node.lineno)
    return sorted(found)


def test_no_test_module_pauses_for_a_fixed_time() -> None:
    found = [
        f"{path.relative_to(TESTS.parent)}:{line}"
        for path in sorted(TESTS.glob("*.py"))
        if path != HELPER
        for line in fixed_sleeps(path.read_text())
    ]
    assert found == [], (
        "wait on state with tests/waiting.py's eventually (or eventually_sync), not a fixed "
        f"pause: {found}"
    )


def test_a_pause_is_found_however_it_is_written() -> None:
    source = """
import asyncio, time
from time import sleep as nap
async def f():
    await asyncio.sleep(0)
    await asyncio.sleep(6)
    time.sleep(0.5)
    nap(1)
    # not a wait on state: the door's Retry-After
    await asyncio.sleep(1)
    await env.sleep(3600)
"""
    assert fixed_sleeps(source) == [6, 7, 8]
