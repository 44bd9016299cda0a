"""`casework simulate` with a fault planted in the crowd's hands, run as a script by
tests/test_cli_simulate.py (each in a process of its own): what a user sees when the engine's
clock jumps under the crowd, or the engine stops moving.

- `jump`: while the crowd opens its first case, time skipping is unlocked for a simulated day
  (what a client built from the time-skipping environment's configuration did when it awaited
  the intake's result, STYLE.md);
- `stall`: the crowd's first act never ends.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from temporalio import activity
from temporalio.api.testservice.v1 import SleepRequest

from casework.simulation import run
from casework.simulation.actors import CrowdActivities
from casework.simulation.messages import (
    SIM_ACT,
    SIM_OPEN,
    ActOrder,
    ActOutcome,
    OpenOrder,
    OpenOutcome,
)


class Jumping(CrowdActivities):
    jumped = False

    @activity.defn(name=SIM_OPEN)
    async def open(self, order: OpenOrder) -> OpenOutcome:
        if not Jumping.jumped:
            Jumping.jumped = True
            request = SleepRequest()
            request.duration.FromTimedelta(timedelta(days=1))
            await self.client.test_service.unlock_time_skipping_with_sleep(request)
        return await super().open(order)


class Stalling(CrowdActivities):
    @activity.defn(name=SIM_ACT)
    async def act(self, order: ActOrder) -> ActOutcome:
        await asyncio.Event().wait()
        raise AssertionError("never")


def main() -> None:
    fault, *args = sys.argv[1:]
    run.CrowdActivities = {"jump": Jumping, "stall": Stalling}[fault]  # type: ignore[misc]
    from casework.cli import app

    sys.argv = ["casework", *args]
    app()


if __name__ == "__main__":
    main()
