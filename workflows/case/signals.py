"""Signal payloads taken raw (`RawValue`) and decoded by the case itself.

The SDK drops a signal whose payload does not decode with only a log line, so an operator who
types a malformed action in the Web UI's signal form would see nothing happen. The case decodes
the payload with its own payload converter instead, and a payload that is not JSON is refused on
the feed like any other malformed action (E4).

Issue 24: a payload that the codec could not decrypt (a stranger's, labelled encrypted) arrives
as the codec's undecodable payload (`casework.codec.payload`), and is refused with the codec's
reason: on `act`, on the P4 signals (`vendor_progress`, `partner_info`), and on a signal of a
name the case does not define (`stray_refusal`), which is refused whatever it carries and never
kept: without a handler for it the SDK would hold it in memory for the rest of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from casework.codec.payload import undecodable_reason
    from casework.domain.validation import PayloadError

from workflows.case.callers import principal_now
from workflows.case.patches import UNDECODABLE_REFUSED

EXAMPLE = '{"action": "comment", "text": "..."}'
NO_PAYLOAD = RawValue(Payload(metadata={"encoding": b"binary/null"}))
"""What a signal sent with no input carries: null (refused as not an object)."""
JSON_ENCODINGS = (b"json/plain", b"binary/null")
"""What the Web UI's form and the SDKs send for JSON (null has an encoding of its own)."""
MAX_DETAIL_CHARS = 200
MAX_NAME_SHOWN = 64
SIGNALS = ("act", "vendor_progress", "partner_info", "roll_over")
"""The signals a case defines (`roll_over`: moves.py); any other name is a stray
(`stray_refusal`)."""
REFUSED = object()
"""What a handler gets back for a payload it refused on the feed."""


def decode(payload: Any, *, json_only: bool = True, example: str | None = EXAMPLE) -> Any:
    """The payload's JSON value, or PayloadError saying why it has none. A payload that is not a
    RawValue was decoded already: another case's signal (its trailing token makes the SDK decode
    every argument) arrives as plain JSON values. `json_only=False`: any encoding the converter
    knows, as the SDK decoded the payload before the ACT_PAYLOAD_RAW patch (and decodes the P4
    signals' still). `example`: what the sender is told to send instead."""
    if not isinstance(payload, RawValue):
        return payload
    advice = f": send a JSON object like {example}" if example else ""
    reason = undecodable_reason(payload.payload)
    if reason is not None:
        reason = reason[:MAX_DETAIL_CHARS]
        raise PayloadError(f"the payload could not be decoded ({reason}){advice}")
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


class Refusals:
    """The signals a case refuses on its feed rather than drop (issue 24): a P4 signal whose
    payload does not decode, and a signal of a name the case does not define. Before the
    UNDECODABLE_REFUSED patch the SDK dropped the first and kept the second, unread, so a case
    started before it (or replaying from before it) records nothing. `record`: the feed's."""

    def __init__(
        self, record: Callable[..., None], patched: Callable[[str], bool], verified: bool
    ) -> None:
        self.record = record
        self.patched = patched
        self.verified = verified

    def decoded(self, name: str, payload: Any) -> Any:
        """A P4 signal's payload as the SDK decoded it (any encoding the converter knows);
        REFUSED, on the feed, if it does not decode."""
        try:
            return decode(payload, json_only=False, example=None)
        except PayloadError as e:
            self.refuse(name, str(e))
            return REFUSED

    def stray(self, name: str, args: Sequence[RawValue]) -> None:
        self.refuse("unknown_signal", stray_refusal(name, args))

    def refuse(self, kind: str, reason: str) -> None:
        if not self.patched(UNDECODABLE_REFUSED):
            return
        principal = principal_now(self.verified)
        who = principal.acting_as if principal else "unknown"
        self.record(who, kind, f"refused: {reason}", refused=True)


def stray_refusal(name: str, args: Sequence[RawValue]) -> str:
    """Why a signal of a name the case does not define is refused; its payload is not read
    beyond whether the codec could decrypt it."""
    shown = "".join(c if c.isprintable() else "?" for c in name[:MAX_NAME_SHOWN])
    text = (
        f"this case has no signal {shown!r}; its signals are {', '.join(SIGNALS)} "
        f"(an action goes as act: {EXAMPLE})"
    )
    reasons = [r for r in (undecodable_reason(a.payload) for a in args[:1]) if r]
    if reasons:
        text += f"; its payload could not be decoded either ({reasons[0][:MAX_DETAIL_CHARS]})"
    return text


def _detail(error: Exception) -> str:
    """Where the JSON breaks, without quoting the payload."""
    if isinstance(error, ValidationError) and error.errors():
        text = str(error.errors()[0]["msg"]).removeprefix("Invalid JSON: ")
    else:
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:MAX_DETAIL_CHARS]
