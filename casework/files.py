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


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node that pydantic's error location points at."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if str(k.value) == str(key):
                    # the key's line: a nested block starts on the line after its key
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def parse_model(text: str, model: type[M], source: str) -> M:
    """Validate YAML text as `model`; FileRefused names `source:line` and the reason."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(e, "problem", None) or str(e)
        raise FileRefused(f"{where}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise FileRefused(f"{source}:1: expected a mapping of settings at the top of the file")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = tuple(err["loc"])
            line = _line_of(node, loc)
            path = ".".join(str(p) for p in loc) or "(top)"
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"{source}:{line or 1}: {path}: {message}")
        raise FileRefused("\n".join(lines)) from None


def load_model(path: str | Path, model: type[M]) -> M:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise FileRefused(f"{path}: cannot be read: {e.strerror or e}") from None
    return parse_model(text, model, str(path))
