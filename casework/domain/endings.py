"""How a case's workflow ended, in the words `show`, `list` and refusals use, and the states a
case is in until then.

A case ends normally when the customer closes it (E4): its workflow completes. It can also end
from outside the case, where its last state still says `in_progress`: an operator terminates it
(`temporal workflow terminate`) or cancels it, its workflow times out or fails. The case then
takes no action, and every read says how it ended instead of the state it was left in.

Pure: no Temporal import (the CLI renders these words without loading the SDK);
`casework.client` maps the SDK's execution status here.
"""

from __future__ import annotations

OPEN_STATES = ("queued", "in_progress", "waiting_on_customer", "resolved", "waiting_on_vendor")
"""The states of a case that is not closed: the lifecycle's (casework.domain.lifecycle), named
here so that what lists cases (casework.case_list) needs no state machine."""

ENDINGS = ("closed", "terminated", "timed_out", "failed", "canceled")
"""Every way a case's workflow ends; "closed" is the normal one (it completed)."""

VISIBILITY_STATUS = {
    "closed": "Completed",
    "terminated": "Terminated",
    "timed_out": "TimedOut",
    "failed": "Failed",
    "canceled": "Canceled",
}
"""Each ending as the visibility store's `ExecutionStatus` spells it."""

_SAYS = {
    "closed": "is closed",
    "terminated": "was terminated by an operator",
    "timed_out": "timed out (its workflow ran past its time limit)",
    "failed": "failed (its workflow failed)",
    "canceled": "was canceled by an operator",
}


def ended_phrase(ended: str) -> str:
    """How the case ended, as a predicate: "was terminated by an operator"."""
    return _SAYS.get(ended, f"ended ({ended})")


def ended_sentence(case_id: str, ended: str) -> str:
    """Why nothing more can be done on the case."""
    return f"{case_id} {ended_phrase(ended)}; nothing more can be done on it"


def shown_state(state: str | None, ended: str | None) -> str:
    """The state a list or a title shows: the last state while the case runs or once it
    closed normally, else how it ended and the state it was left in."""
    if ended is None or ended == "closed":
        return state or "-"
    return f"{ended} (was {state})" if state else ended
