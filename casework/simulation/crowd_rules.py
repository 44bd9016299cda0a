"""The crowd's choices, pure (passed through into the crowd workflow): which case an engineer
takes, which engineers could take a case Customer Care passes up, in which order acts of the
same instant go, and the queue a visit waits in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta

from casework.domain.models import Level
from casework.domain.routing import queue_for
from casework.domain.us_citizen import RESTRICTED_QUEUE
from casework.simulation.clock import MARGIN, MAX_LAG
from casework.simulation.messages import EngineerState, Event, SimCase, Timing
from casework.simulation.plan import PRIORITY_ORDER, Roster, RosterEngineer

JUMP_LIMIT = timedelta(minutes=1)
"""How much further than the act took in real time the server's clock may move while the act is
outstanding (the latency of handing out the activity and its result) before it counts as a
jump."""


def queue_of(level: Level, restricted: bool) -> str:
    """E1 by level; U2: a restricted case stays in the US citizen queue at every level."""
    return RESTRICTED_QUEUE if restricted else queue_for(level)


def event_key(event: Event) -> tuple[str, ...]:
    """Acts of the same instant go in an order that depends on what they are, never on the
    order the engine's word reached the crowd (which depends on the machine's speed)."""
    arrival = event.arrival
    return (
        event.kind,
        arrival.request_id if arrival else "",
        event.case_id,
        event.person_id,
        event.key,
    )


def most_urgent(backlog: list[str], cases: Mapping[str, SimCase]) -> str:
    """E1: the highest priority, then the oldest, then the lowest case number."""
    return min(
        backlog,
        key=lambda c: (PRIORITY_ORDER[cases[c].priority], cases[c].opened_at, c),
    )


def triage_takers(
    roster: Roster,
    engineers: Mapping[str, EngineerState],
    case: SimCase,
    on_shift: Callable[[str], bool],
) -> list[RosterEngineer]:
    """The L1 engineers free to take `case` now: on shift, nothing in hand, nothing waiting,
    nothing unreleased, able to take it (skills, E1; the restricted queue, U2)."""

    def free(engineer_id: str) -> bool:
        state = engineers[engineer_id]
        return state.current is None and not state.backlog and not state.unreleased

    product = case.product.casefold()
    return [
        e
        for e in roster.engineers
        if e.level is Level.L1
        and free(e.id)
        and on_shift(e.id)
        and product in {s.casefold() for s in e.skills}
        and (e.restricted_member if case.restricted else not e.restricted_queue_only)
    ]


def note_lag(timing: Timing, lag: timedelta) -> str:
    """Count an act sent `lag` after its instant; the reason to stop if that is a jump.

    The server's clock may run past an act's instant by as long as the machine took over what
    came before it (`MARGIN` is what the order of acts of one minute can absorb); by more than
    `MAX_LAG` it jumped (a wrongly unlocked clock skips to the next timer), and nothing
    measured after that is true."""
    timing.acts += 1
    timing.max_lag_seconds = max(timing.max_lag_seconds, lag.total_seconds())
    if lag > MARGIN:
        timing.late_acts += 1
    if lag > MAX_LAG:
        jump = timedelta(seconds=round(lag.total_seconds()))
        return f"the server's clock jumped {jump} past the crowd's next act"
    return ""


def jumped(moved: timedelta, wall_seconds: float) -> str:
    """While an act is outstanding the server's clock is locked: it runs in real time, so it
    may move on by about as long as the act took, never by more (a client that unlocks time
    skipping while it waits lets the server skip to the next timer, STYLE.md)."""
    if moved - timedelta(seconds=wall_seconds) > JUMP_LIMIT:
        return (
            f"the server's clock moved {timedelta(seconds=round(moved.total_seconds()))} in an "
            f"act that took {wall_seconds:.1f} s of real time"
        )
    return ""
