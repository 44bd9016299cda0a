"""Reading the directory and policy files (S5): YAML in, a validated model out.

A bad file is refused whole with the file, the line and the reason, so that an operator can
fix it; nothing is loaded from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class FileRefused(ValueError):
    """A directory or policy file that cannot be used; the message says where and why."""


def _line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node that pydantic's error location points at (a node of
    PyYAML or of ruamel.yaml: both say `mapping` or `sequence` in `id`)."""
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


def parse_model(text: str, model: type[M], source: str, context: dict[str, Any] | None = None) -> M:
    """Validate YAML text as `model` (with pydantic's validation `context`); FileRefused names
    `source:line` and the reason."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(e, "problem", None) or str(e)
        raise FileRefused(f"{where}: not valid YAML: {problem}") from None
    return _validated(node, data, model, source, context)


def _validated(
    node: Any, data: Any, model: type[M], source: str, context: dict[str, Any] | None = None
) -> M:
    if not isinstance(data, dict):
        raise FileRefused(f"{source}:1: expected a mapping of settings at the top of the file")
    try:
        return model.model_validate(data, context=context)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = tuple(err["loc"])
            line = _line_of(node, loc)
            path = ".".join(str(p) for p in loc) or "(top)"
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"{source}:{line or 1}: {path}: {message}")
        raise FileRefused("\n".join(lines)) from None


MAX_FILE_BYTES = 1_000_000


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """A file's text, refused (FileRefused) when it cannot be read, is too long or is not
    UTF-8: then with the line of the first byte that is not."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as e:
        raise FileRefused(f"{path}: cannot be read: {e.strerror or e}") from None
    if len(raw) > max_bytes:
        raise FileRefused(f"{path}: longer than {max_bytes:,} bytes; is it the right file?")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise FileRefused(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x} at column {column}); "
            "save the file as UTF-8"
        ) from None


def parse_yaml_model(text: str, model: type[M], source: str) -> M:
    """As `parse_model`, read with ruamel.yaml (YAML 1.1, as PyYAML reads): a key written twice
    in one mapping is refused naming both lines (PyYAML keeps the last one silently)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    reader = YAML(typ="safe", pure=True)
    reader.version = (1, 1)
    try:
        node = reader.compose(text)
        twice = _written_twice(node, ())
        if twice:
            raise FileRefused("\n".join(f"{source}:{line}" for line in twice))
        data = YAML(typ="safe", pure=True).load(text) if node is not None else None
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise FileRefused(f"{where}: not valid YAML: {e.problem or e.context}") from None
    except RecursionError:
        raise FileRefused(f"{source}: nested too deeply to be a settings file") from None
    return _validated(node, data, model, source)


def _written_twice(node: Any, path: tuple[str, ...]) -> list[str]:
    """`line: path: written twice ...` for every key repeated in one mapping of `node`."""
    found: list[str] = []
    kind = getattr(node, "id", None)
    if kind == "mapping":
        first: dict[str, int] = {}
        for key, value in node.value:
            name, line = str(key.value), key.start_mark.line + 1
            where = ".".join((*path, name))
            if name in first:
                found.append(
                    f"{line}: {where}: written twice in one mapping (lines {first[name]} and "
                    f"{line}); keep one"
                )
            else:
                first[name] = line
            found.extend(_written_twice(value, (*path, name)))
    elif kind == "sequence":
        for index, item in enumerate(node.value):
            found.extend(_written_twice(item, (*path, str(index))))
    return found


def load_model(path: str | Path, model: type[M], context: dict[str, Any] | None = None) -> M:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise FileRefused(f"{path}: cannot be read: {e.strerror or e}") from None
    return parse_model(text, model, str(path), context)
