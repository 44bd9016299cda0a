"""Imports point one way and none go in a circle (issue 25).

The layers, bottom to top: the domain (and the foundations that import nothing of casework),
then codec and identity, then the store, then activities and workflows, then the worker, then
the door and the CLI. A module may import one of its own layer or below, never above; no two
modules import each other, directly or round a longer circle, and neither do two packages.

Every import counts: at the top of a module, inside a function, and under TYPE_CHECKING (a
type the module names is a module it depends on). Read with `ast`: nothing is imported.

A new module must be placed: add it to LAYERS, in the lowest layer above everything it
imports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("casework", "activities", "workflows")

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "domain",
        (
            "casework.domain",
            # foundations: they import nothing of casework, so anything may use them
            "casework.errors",
            "casework.redact",
            "casework.settings",
            "casework.yamlfiles",
            "casework.search_attribute_names",
        ),
    ),
    (
        "codec and identity",
        (
            "casework.codec",
            "casework.identity",
            "casework.notify",
            "casework.search_attributes",
            "casework.case_list",
            "casework.case_pages",
            "casework.observability",
            "casework.state_lock",
            "casework.engine_record",
        ),
    ),
    (
        "store",
        (
            "casework.store",
            "casework.attachments",
            "casework.converter",
            "casework.engine",
            "casework.health",
            "casework.metrics",
            "casework.startup",
        ),
    ),
    (
        "activities and workflows",
        ("activities", "workflows", "casework.contracts", "casework.client"),
    ),
    (
        "worker",
        (
            "worker",
            "casework.sandbox",
            "casework.collector",
            "casework.sharing",
            "casework.dev_server",
            "casework.versions",
            "casework.deployment",
        ),
    ),
    (
        "door and CLI",
        (
            "casework.door",
            "casework.cli",
            "casework.up",
            "casework.up_checks",
            "casework.simulation",
            "casework.report_chart",
            "casework",  # the package's own __init__
        ),
    ),
)


def modules() -> dict[str, Path]:
    found = {"worker": ROOT / "worker.py"}
    for top in SHIPPED:
        for path in (ROOT / top).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = modules()


def _known(name: str) -> str | None:
    """The shipped module `name` is, or is inside (`casework.store.Store` -> casework.store)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(name: str) -> Iterator[tuple[str, int]]:
    """Each shipped module `name` imports, with the line: every import statement in the file."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), name, package)


def imports_in(source: str, name: str, package: str) -> Iterator[tuple[str, int]]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            known = _known(target)
            if known is not None and known != name:
                yield known, node.lineno
                break


def layer_of(name: str) -> int | None:
    best: tuple[int, int] | None = None
    for index, (_, members) in enumerate(LAYERS):
        for member in members:
            if name == member or name.startswith(member + "."):
                if best is None or len(member) > best[1]:
                    best = (index, len(member))
    return None if best is None else best[0]


def package_of(name: str) -> str:
    """casework.<sub> for a package's modules, else the module itself."""
    parts = name.split(".")
    if parts[0] == "casework" and len(parts) > 2:
        return ".".join(parts[:2])
    if parts[0] in ("activities", "workflows"):
        return parts[0]
    return name


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            part = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                part.append(top)
                if top == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


GRAPH = {name: dict(imports_of(name)) for name in MODULES}


def test_every_shipped_module_has_a_layer() -> None:
    unplaced = sorted(name for name in MODULES if layer_of(name) is None)
    assert not unplaced, (
        f"{', '.join(unplaced)}: in no layer; add each to LAYERS in tests/test_layers.py, in "
        "the lowest layer above everything it imports"
    )


def test_no_module_imports_one_above_it() -> None:
    upward = []
    for name, targets in sorted(GRAPH.items()):
        here = layer_of(name)
        for target, line in sorted(targets.items()):
            there = layer_of(target)
            if here is not None and there is not None and there > here:
                upward.append(
                    f"{MODULES[name].relative_to(ROOT)}:{line}: {name} ({LAYERS[here][0]}) "
                    f"imports {target} ({LAYERS[there][0]}, above it)"
                )
    assert not upward, "imports that point up:\n" + "\n".join(upward)


def test_no_modules_import_each_other() -> None:
    graph = {name: set(targets) for name, targets in GRAPH.items()}
    assert circles(graph) == [], "modules that import each other, round a circle"


def test_no_packages_import_each_other() -> None:
    graph: dict[str, set[str]] = {}
    for name, targets in GRAPH.items():
        for target in targets:
            if package_of(target) != package_of(name):
                graph.setdefault(package_of(name), set()).add(package_of(target))
    assert circles(graph) == [], "packages that import each other, round a circle"


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_the_circle_finder_finds_circles(
    graph: dict[str, set[str]], expected: list[list[str]]
) -> None:
    assert circles(graph) == expected


def test_the_reader_sees_imports_inside_functions_for_types_and_relative() -> None:
    """The ways a circle hid before: a function-level import (casework.domain.directory), a
    TYPE_CHECKING import (casework.codec); and a relative one."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from casework.store import Store\n"
        "def f():\n    from casework.client import open_case\n"
        "from ..identity import keyring\n"
        "import worker\n"
    )
    found = dict(imports_in(source, "casework.codec.example", "casework.codec"))
    assert found == {
        "casework.store": 3,
        "casework.client": 5,
        "casework.identity.keyring": 6,
        "worker": 7,
    }
