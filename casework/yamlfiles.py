"""Reading the YAML files casework is given (the directory, the SLA policy, the simulator's load
file, S5): one loader, ruamel.yaml, and a validated pydantic model out.

A bad file is refused whole (FileRefused) before anything runs, every problem as
`file:line: path: reason`, so that an operator can fix it; nothing is loaded from it:

- a file that cannot be read, is longer than MAX_FILE_BYTES, or is not UTF-8 (the line and
  column of the first byte that is not);
- text that is not YAML (the line of the problem);
- a key written twice in one mapping, naming both lines: PyYAML, which read these files before,
  kept the last of the two silently, so a directory that wrote `engineers:` twice was
  half-applied;
- aliases that expand to more than MAX_NODES nodes (a "billion laughs" file), or nesting too
  deep to be a settings file;
- anything the model refuses, at the line of the field it names.

Files are read as YAML 1.1, as PyYAML read them, so a value means what it meant (`yes` is true,
an unquoted 12:00 is a number); `dump_text` writes YAML that reads back the same way.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scanner import Scanner, ScannerError

M = TypeVar("M", bound=BaseModel)

MAX_FILE_BYTES = 1_000_000
"""A settings file longer than this is refused (the demo directory with 5,000 more engineers,
one line each, is 692 KB and reads in about 3 s: benchmarks/yaml_files.py)."""
MAX_NODES = 500_000
"""The most values a file may stand for once its aliases are expanded."""
MAX_DEPTH = 100
"""The deepest a value may be nested (the models go a few levels deep)."""
YAML_VERSION = (1, 1)


class FileRefused(ValueError):
    """A YAML file that cannot be used; the message says where and why, one line a problem."""


class _TooDeep(ScannerError):
    pass


class _BoundedScanner(Scanner):  # type: ignore[misc]
    """ruamel.yaml's scanner, refusing brackets (`[`, `{`) nested deeper than MAX_DEPTH: its
    bookkeeping costs the depth on every token, so a 1 MB file of `[` took about 15 s."""

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise _TooDeep(problem_mark=self.reader.get_mark())
        super().fetch_flow_collection_start(TokenClass, to_push)


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.version = YAML_VERSION
    yaml.Scanner = _BoundedScanner
    return yaml


def _too_deep(source: str, line: int | None = None, why: str = "") -> FileRefused:
    where = f"{source}:{line}" if line else source
    return FileRefused(
        f"{where}: nested deeper than {MAX_DEPTH} levels, too deep for a settings file{why}"
    )


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """A file's text, refused (FileRefused) when it cannot be read, is too long or is not
    UTF-8: then with the line of the first byte that is not."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as e:
        raise FileRefused(f"{path}: cannot be read: {e.strerror or e}") from None
    if len(raw) > max_bytes:
        raise FileRefused(
            f"{path}: longer than {max_bytes:,} bytes, too long for a settings file; is it the "
            "right file?"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise FileRefused(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x} at column {column}); "
            "save the file as UTF-8"
        ) from None


def compose(text: str, source: str) -> Any:
    """The YAML node tree of `text` (None for an empty file), checked: FileRefused for text
    that is not YAML, a key written twice, too many values or too deep."""
    try:
        node = _yaml().compose(text)
    except _TooDeep as e:
        raise _too_deep(source, e.problem_mark.line + 1) from None
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise FileRefused(f"{where}: not valid YAML: {e.problem or e.context}") from None
    except YAMLError as e:
        raise FileRefused(f"{source}: not valid YAML: {e}") from None
    except RecursionError:
        raise _too_deep(source) from None
    problems = _checked(node, source)
    if problems:
        raise FileRefused("\n".join(problems))
    return node


def _checked(root: Any, source: str) -> list[str]:
    """Every key written twice in one mapping (both lines); a refusal if the aliases expand to
    more than MAX_NODES values or nest deeper than MAX_DEPTH (an alias inside itself). Each
    distinct mapping is checked once; a path is a (name, parent) chain, spelled out only for a
    problem."""
    problems: list[tuple[int, str]] = []
    seen: set[int] = set()
    stack: list[tuple[Any, int, Any]] = [(root, 0, None)] if root is not None else []
    count = 0
    while stack:
        node, depth, path = stack.pop()
        count += 1
        if count > MAX_NODES:
            return [
                f"{source}: its aliases (*name) expand to more than {MAX_NODES:,} values, too "
                "many for a settings file; write the repeated parts out, or fewer of them"
            ]
        if depth > MAX_DEPTH:
            line, why = node.start_mark.line + 1, " (is an alias (*name) inside its own anchor?)"
            return [str(_too_deep(source, line, why if id(node) in seen else ""))]
        first_visit = id(node) not in seen
        seen.add(id(node))
        if node.id == "mapping":
            first: dict[str, int] = {}
            for key, value in node.value:
                name, line = str(key.value), key.start_mark.line + 1
                if first_visit and name in first:
                    problems.append(
                        (
                            line,
                            f"{source}:{line}: {_spelled((name, path))}: written twice in one "
                            f"mapping (lines {first[name]} and {line}); keep one",
                        )
                    )
                first.setdefault(name, line)
                stack.append((value, depth + 1, (name, path)))
        elif node.id == "sequence":
            stack.extend((item, depth + 1, (str(i), path)) for i, item in enumerate(node.value))
    return [problem for _, problem in sorted(problems)]


def _spelled(path: Any) -> str:
    names = []
    while path is not None:
        name, path = path
        names.append(name)
    return ".".join(reversed(names))


def load_data(text: str, source: str) -> Any:
    """The plain data of YAML `text` (dicts, lists, scalars), checked as `compose` does."""
    node = compose(text, source)
    return _constructed(node, source)


def _constructed(node: Any, source: str) -> Any:
    if node is None:
        return None
    try:
        return _yaml().constructor.construct_document(node)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise FileRefused(f"{where}: not valid YAML: {e.problem or e.context}") from None
    except RecursionError:
        raise _too_deep(source) from None


def parse_model(text: str, model: type[M], source: str, context: dict[str, Any] | None = None) -> M:
    """Validate YAML `text` as `model` (with pydantic's validation `context`); FileRefused
    names `source:line` and the reason, one line a problem."""
    node = compose(text, source)
    data = _constructed(node, source)
    if not isinstance(data, dict):
        raise FileRefused(f"{source}:1: expected a mapping of settings at the top of the file")
    try:
        return model.model_validate(data, context=context)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = tuple(err["loc"])
            path = ".".join(str(p) for p in loc) or "(top)"
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"{source}:{line_of(node, loc) or 1}: {path}: {message}")
        raise FileRefused("\n".join(lines)) from None


def load_model(path: str | Path, model: type[M], context: dict[str, Any] | None = None) -> M:
    """The YAML file at `path` as `model`: `read_text` then `parse_model`."""
    path = Path(path)
    return parse_model(read_text(path), model, str(path), context)


def line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the node at `loc` (keys and indexes, as pydantic's error location
    says) below `node`; where `loc` leaves the tree, the line of the last node found."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        kind = getattr(node, "id", None)
        if kind == "mapping":
            for k, v in node.value:
                if str(k.value) == str(key):
                    # the key's line: a nested block starts on the line after its key
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif kind == "sequence" and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def dump_text(data: Any) -> str:
    """`data` (dicts, lists, scalars) as YAML 1.1 that `load_data` reads back the same: keys in
    their order, a string that would read as something else (`"12:00"`, `"yes"`) quoted."""
    yaml = _yaml()
    yaml.default_flow_style = False
    yaml.representer.sort_base_mapping_type_on_output = False
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()
