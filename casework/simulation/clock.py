"""The simulation's clock: whole minutes, and a fixed moment inside each minute for each kind of
act. Pure.

The time-skipping server jumps from timer to timer while nothing is outstanding, but while the
engine or the crowd works its clock runs on in real time (it is locked). So an act the crowd
sends at 09:14:00 lands at 09:14:00.2, or at 09:14:03 on a busy machine, and a deadline the
engine derives from it moves with it. Two things follow, and this module answers both:

- **Figures do not carry the machine's speed.** The crowd keeps its own *ideal* instants: every
  draw (arrival, service time, acknowledgement) is a whole number of minutes, and everything it
  records is a whole minute; what the engine tells it is placed in the minute it happened
  (`minute_of`: the engine's instant, floored).
- **What happens first does not depend on the machine's speed.** Inside a minute, each kind of
  act has its own second (`PHASE`): the engine's own deadlines on the hour (business hours,
  U4) come first, then the customers' opening of cases, the customers' Escalate Now, engineers
  finishing work, Customer Care passing a case up, engineers starting on a case, managers
  acknowledging. A deadline the engine derives from an act (an SLA target, S1; the
  acknowledgement window, E3) is a whole number of minutes after it, so it keeps its act's
  second: a first response in the very minute its target runs out comes after the deadline
  (it is late), however slow the machine, as long as the engine finishes what one act started
  within `MARGIN` of real time. The crowd measures how far behind the server's clock it acts
  (`lag`) and says so when that margin was ever used up (the run may then not repeat byte for
  byte); a lag beyond `MAX_LAG` is not slowness but a jump of the server's clock, and stops the
  run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

TICK = timedelta(minutes=1)
"""The resolution of every simulated time: arrivals, service times, waits."""

Phase = Literal["plan", "open", "customer", "finish", "handoff", "start", "acknowledge"]
PHASE: dict[Phase, timedelta] = {
    "plan": timedelta(seconds=2),
    "open": timedelta(seconds=8),
    "customer": timedelta(seconds=16),
    "finish": timedelta(seconds=24),
    "handoff": timedelta(seconds=32),
    "start": timedelta(seconds=40),
    "acknowledge": timedelta(seconds=48),
}
"""The second of its minute at which each kind of act is sent."""
MARGIN = timedelta(seconds=8)
"""How long the engine may take over what one act started before the next kind of act of the
same minute is sent: the gap between two phases."""
MAX_LAG = timedelta(minutes=10)
"""How far the server's clock may run ahead of the act the crowd is sending before the run
stops: far beyond any machine's slowness (the clock runs in real time while anything is
outstanding), far below the hours a wrongly unlocked clock jumps."""


def minutes(delta: timedelta) -> timedelta:
    """A duration as a whole number of minutes, at least one."""
    return TICK * max(1, round(delta / TICK))


def minute_of(at: datetime) -> datetime:
    """The minute an instant of the engine's falls in (its ideal instant)."""
    return at.replace(second=0, microsecond=0)


def server_instant(minute: datetime, phase: Phase) -> datetime:
    """When, on the server's clock, the crowd sends an act of this kind in this minute."""
    return minute + PHASE[phase]


def is_whole(delta: timedelta) -> bool:
    return delta % TICK == timedelta(0)
