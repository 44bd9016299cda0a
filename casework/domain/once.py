"""Once and only once: what a case remembers so that a message acts at most once (issue 24).

Two memories, both carried across continue-as-new and both bounded:

- **Taken tokens.** A door's token names one case, one operation and the digest of one
  message. The case takes each token once: it remembers the token's id until the token
  expires, and refuses the same token again, whatever payload comes with it (a token copied out
  of a history). A token expires within minutes (`TOKEN_TTL`), so the memory holds
  what a few minutes bring; past MAX_TAKEN_TOKENS unexpired tokens the case asks senders to
  wait rather than forget one.
- **Remembered actions.** Every update has an id; the door makes it from the caller's
  `Idempotency-Key` (`action_update_id`). Temporal answers a repeated update id with the first
  outcome only while the same run lasts; the case remembers its recent updates' outcomes
  itself (MAX_REMEMBERED_ACTIONS, for REMEMBERED_FOR), so a retry after a timeout, a 503 or a
  roll-over is answered with the first outcome and never applied twice. The same key with
  another request is refused: the caller reused a key by mistake.
"""

from __future__ import annotations

import bisect
import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

MAX_TAKEN_TOKENS = 5_000
"""Unexpired tokens a case remembers: about 8 a second for the ten minutes a token lives."""
MAX_REMEMBERED_ACTIONS = 256
"""The newest actions a case remembers the outcome of..."""
REMEMBERED_FOR = timedelta(hours=24)
"""...and for how long: a client retries within seconds or minutes, not days."""
MAX_REMEMBERED_CHARS = 600
"""The most of an outcome's message a case keeps (a retry's answer ends with an ellipsis)."""
DIGEST_CHARS = 16
UPDATE_ID = re.compile(r"^(?P<by>[^/]{1,100})/(?P<key>[^/]{1,100})/(?P<digest>[0-9a-f]{16})$")
"""`<caller>/<Idempotency-Key>/<request digest>`: an update id the door made."""


class TakenToken(BaseModel):
    id: str
    expires: int
    """Unix seconds."""


class RememberedAction(BaseModel):
    """One update's outcome: its result, or the refusal the caller got."""

    by: str
    """Who sent it (the verified principal's id)."""
    key: str
    """The caller's Idempotency-Key (from the door's update id), else the whole update id."""
    digest: str | None = None
    """The request's digest, for a key the door made: the same key with another request is
    refused."""
    at: datetime
    result: dict[str, Any] | None = None
    """The action's result (an `ActionResult`, as JSON)."""
    refusal: str | None = None
    refusal_type: str | None = None


class KeyReused(Exception):
    """The same Idempotency-Key came with another request; the message says so."""


def action_update_id(caller: str, key: str, digest: str) -> str:
    """The update id the door sends an action under: the caller's key, scoped to the caller
    (two callers' keys never meet), with the request's digest (the same key with another
    request is told so, not answered with the first one's outcome)."""
    return f"{caller}/{key}/{digest[:DIGEST_CHARS]}"


class TokenMemory:
    """The tokens a case took (`CaseState.taken_tokens`, kept in place, ordered by expiry),
    with an index of their ids: taking a token costs a lookup and a binary search, not a pass
    over up to MAX_TAKEN_TOKENS tokens. A flood of signals is taken in one workflow task, and
    the SDK fails a task that runs over 2 seconds (its deadlock detection): at a pass per
    token, hundreds of signals in one task cost the square of their number."""

    def __init__(self, taken: list[TakenToken]) -> None:
        taken.sort(key=_expiry)  # a state carried from before it was kept in order
        self.taken = taken
        self.ids = {t.id for t in taken}

    def take(self, token_id: str, expires: int, now: datetime) -> str | None:
        """Take a token once: None if it is new (it is remembered until it expires), else
        why it is refused. Forgets the expired ones first."""
        stamp = int(now.timestamp())
        gone = bisect.bisect_right(self.taken, stamp, key=_expiry)
        if gone:
            self.ids.difference_update(t.id for t in self.taken[:gone])
            del self.taken[:gone]
        if token_id in self.ids:
            return (
                "this credential was used already: a message is taken once, so a copy of it "
                "(from a history) is refused; send the request again through casework"
            )
        if len(self.taken) >= MAX_TAKEN_TOKENS:
            return (
                f"the case took {MAX_TAKEN_TOKENS} messages in the last minutes, the most it "
                "remembers; try again in a minute"
            )
        token = TakenToken(id=token_id, expires=expires)
        bisect.insort_right(self.taken, token, key=_expiry)
        self.ids.add(token_id)
        return None


def _expiry(token: TakenToken) -> int:
    return token.expires


def _identity(caller: str, update_id: str) -> tuple[str, str | None]:
    """The key and digest an update id stands for, for this caller."""
    found = UPDATE_ID.match(update_id)
    if found is not None and found["by"] == caller:
        return found["key"], found["digest"]
    return update_id, None


def recall(
    memory: list[RememberedAction], caller: str, update_id: str, now: datetime
) -> RememberedAction | None:
    """The remembered outcome of this update (None: new); KeyReused when the caller's key came
    with another request."""
    key, digest = _identity(caller, update_id)
    for entry in reversed(memory):
        if entry.by != caller or entry.key != key or now - entry.at > REMEMBERED_FOR:
            continue
        if entry.digest != digest:
            raise KeyReused(
                f"the Idempotency-Key {key!r} was used for another request on this case; "
                "send that request again to get its outcome, or use a new key"
            )
        return entry
    return None


def remember(
    memory: list[RememberedAction],
    caller: str,
    update_id: str,
    now: datetime,
    *,
    result: dict[str, Any] | None = None,
    refusal: str | None = None,
    refusal_type: str | None = None,
) -> None:
    """Keep this update's outcome (`result`: an ActionResult as JSON), forgetting the oldest
    beyond the bounds."""
    key, digest = _identity(caller, update_id)
    message = result.get("message") if result is not None else None
    if isinstance(message, str) and len(message) > MAX_REMEMBERED_CHARS:
        result = {**(result or {}), "message": message[: MAX_REMEMBERED_CHARS - 1] + "…"}
    if refusal is not None and len(refusal) > MAX_REMEMBERED_CHARS:
        refusal = refusal[: MAX_REMEMBERED_CHARS - 1] + "…"
    memory[:] = [e for e in memory if now - e.at <= REMEMBERED_FOR][-(MAX_REMEMBERED_ACTIONS - 1) :]
    memory.append(
        RememberedAction(
            by=caller,
            key=key,
            digest=digest,
            at=now,
            result=result,
            refusal=refusal,
            refusal_type=refusal_type,
        )
    )


__all__ = [
    "MAX_REMEMBERED_ACTIONS",
    "MAX_TAKEN_TOKENS",
    "REMEMBERED_FOR",
    "KeyReused",
    "RememberedAction",
    "TakenToken",
    "action_update_id",
    "recall",
    "remember",
    "TokenMemory",
]
