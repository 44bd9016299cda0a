"""The `act` signal's payload, taken raw (`RawValue`) and decoded by the case itself.

The SDK drops a signal whose payload does not decode with only a log line, so an operator who
types a malformed action in the Web UI's signal form would see nothing happen. The case decodes
the payload with its own payload converter instead, and a payload that is not JSON is refused on
the feed like any other malformed action (E4).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from casework.domain.validation import PayloadError

EXAMPLE = '{"action": "comment", "text": "..."}'
NO_PAYLOAD = RawValue(Payload(metadata={"encoding": b"binary/null"}))
"""What a signal sent with no input carries: null (refused as not an object)."""
JSON_ENCODINGS = (b"json/plain", b"binary/null")
"""What the Web UI's form and the SDKs send for JSON (null has an encoding of its own)."""
MAX_DETAIL_CHARS = 200


def decode(payload: Any, *, json_only: bool = True) -> Any:
    """The payload's JSON value, or PayloadError saying why it has none. A payload that is not a
    RawValue was decoded already: another case's signal (its trailing token makes the SDK decode
    every argument) arrives as plain JSON values. `json_only=False`: any encoding the converter
    knows, as the SDK decoded the payload before the ACT_PAYLOAD_RAW patch."""
    if not isinstance(payload, RawValue):
        return payload
    encoding = payload.payload.metadata.get("encoding", b"")
    if json_only and encoding not in JSON_ENCODINGS:
        shown = encoding.decode("utf-8", "replace")[:40] or "without an encoding"
        raise PayloadError(f"the payload is {shown}, not JSON: send a JSON object like {EXAMPLE}")
    try:
        return workflow.payload_converter().from_payload(payload.payload)
    except Exception as e:  # whatever the converter raises, the sender learns the payload is bad
        raise PayloadError(
            f"the payload is not JSON ({_detail(e)}): send a JSON object like {EXAMPLE}"
        ) from None


def _detail(error: Exception) -> str:
    """Where the JSON breaks, without quoting the payload."""
    if isinstance(error, ValidationError) and error.errors():
        text = str(error.errors()[0]["msg"]).removeprefix("Invalid JSON: ")
    else:
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:MAX_DETAIL_CHARS]
