"""The JSON bodies the door reads itself (the open and action routes, webhooks): a JSON object of
fields, at most MAX_JSON_DEPTH levels deep, within `bounds.MAX_BODY_BYTES`. Anything else is a
422 that says what was wrong and what to send (issue 24: a deeply nested body used to reach
Python's recursion limit in the JSON parser, an uncaught RecursionError, 500).

The depth is measured on the raw bytes before anything parses them, so no parser, validator
or serialiser down the line (json, pydantic, the payload converter) ever sees a body deep
enough to recurse far."""

from __future__ import annotations

import json
import re
from typing import Any

from casework.door.errors import DoorError

MAX_JSON_DEPTH = 16
"""The deepest body the door takes: an object is one level, a list in it two. The API's
deepest bodies are two deep (an action's `items`, a webhook's `events`); 16 leaves room for
fields to come and stays far below Python's recursion limit (1,000), which the JSON parser
reached at about 1,000 levels."""
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_OPENING = frozenset(b"[{")


def nested_deeper_than(raw: bytes, bound: int) -> bool:
    """Whether the JSON text `raw` opens more than `bound` arrays and objects inside each other
    (brackets inside strings do not count). Linear, without recursion; a text with no more
    than `bound` brackets at all is not even scanned."""
    if raw.count(b"[") + raw.count(b"{") <= bound:
        return False
    depth = 0
    for byte in _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS):
        if byte in _OPENING:
            depth += 1
            if depth > bound:
                return True
        else:
            depth -= 1
    return False


def json_object(raw: bytes, example: str = '{"field": "value", ...}') -> dict[str, Any]:
    """The body as a dict of fields (an empty body: no fields), or DoorError 422: not UTF-8
    JSON, nested deeper than MAX_JSON_DEPTH, or not a JSON object. `example` shows what to
    send."""
    if not raw:
        return {}
    if nested_deeper_than(raw, MAX_JSON_DEPTH):
        raise DoorError(
            422,
            f"the request body is nested more than {MAX_JSON_DEPTH} levels deep, deeper than "
            f"any request this API takes: send a JSON object of fields, like {example}",
        )
    try:
        body = json.loads(raw, parse_constant=_not_json)
    except UnicodeDecodeError:
        raise DoorError(
            422, f"the request body is not JSON in UTF-8: send a JSON object, like {example}"
        ) from None
    except ValueError as e:
        where = (
            f" ({e.msg}, at character {e.pos})"
            if isinstance(e, json.JSONDecodeError)
            else f" ({e})"
            if isinstance(e, _NotJson)
            else " (a number longer than Python reads)"
        )
        raise DoorError(
            422, f"the request body is not JSON{where}: send a JSON object, like {example}"
        ) from None
    except RecursionError:  # pragma: no cover - the depth is bounded above, far below it
        raise DoorError(422, f"the request body is nested too deep: send {example}") from None
    if not isinstance(body, dict):
        raise DoorError(
            422,
            f"the request body must be a JSON object of fields, like {example}; it is a JSON "
            f"{_json_kind(body)}",
        )
    return body


class _NotJson(ValueError):
    pass


def _not_json(constant: str) -> Any:
    """NaN and Infinity: Python's parser takes them, JSON (RFC 8259) does not."""
    raise _NotJson(f"{constant} is not a JSON value")


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"
