"""No shipped module changes the process's environment once it runs.

The Temporal SDK's core reads environment variables (getenv) on threads of its own, for one
while it validates a new worker (`TEMPORAL_POLL_SHUTDOWN_INTERRUPT_WAIT_MS`). glibc's getenv
takes no lock, and a setenv beside it reallocates the table it walks: the process crashes with
a segfault. The test suite found it so (a core dump: getenv in the core's `make_wft_poller`
while the main thread was in `os.environ.__setitem__`; tests/conftest.py `running`). `casework
up` runs its worker, its door and its relay in one process: casework reads its settings once
(casework/settings) and never changes its own environment (a child process that needs another
gets it with `env=`).

Read with `ast`: nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("casework", "activities", "workflows")
MUTATORS = {"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__"}


def _is_environ(node: ast.AST) -> bool:
    """`os.environ` or a bare `environ` (from os import environ)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and isinstance(node.value, ast.Name)
    return isinstance(node, ast.Name) and node.id == "environ"


def environment_writes(source: str) -> list[int]:
    """The lines of `source` that change the process's environment."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            if any(isinstance(t, ast.Subscript) and _is_environ(t.value) for t in targets):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if func.attr in MUTATORS and _is_environ(func.value):
                lines.append(node.lineno)
            elif func.attr in ("putenv", "unsetenv") and isinstance(func.value, ast.Name):
                lines.append(node.lineno)
    return sorted(lines)


def test_no_shipped_module_changes_the_environment() -> None:
    files = [ROOT / "worker.py", *(p for part in SHIPPED for p in (ROOT / part).rglob("*.py"))]
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for path in files
        for line in environment_writes(path.read_text(encoding="utf-8"))
    }
    assert not found, (
        f"these lines change os.environ in a running process: {sorted(found)}; the SDK's core "
        "reads it on its own threads, and getenv beside a setenv can crash the process. Pass "
        "a child process its environment with env=, and a setting as an argument"
    )


def test_the_finder_sees_every_way_to_change_it() -> None:
    source = """
import os
from os import environ
os.environ["A"] = "1"
environ["B"] = "2"
os.environ.update(C="3")
os.environ.setdefault("D", "4")
os.environ.pop("E", None)
del os.environ["F"]
os.putenv("G", "7")
os.unsetenv("H")
x = os.environ.get("I")
env = {**os.environ, "J": "10"}
"""
    assert environment_writes(source) == [4, 5, 6, 7, 8, 9, 10, 11]
