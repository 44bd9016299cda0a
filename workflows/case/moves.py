"""Moving a case onto the current version of casework (issue 28, Worker Versioning).

A case's run is PINNED to the deployment version (build) it started on: a worker of that build
replays it, whatever version is current meanwhile. A case moves to another version when it
rolls over (`CaseWorkflow._roll_over`: once no handler is mid-way and no side effect is
outstanding, its whole state carried): its next run starts on the version that is current then
(`AUTO_UPGRADE`, on every roll-over). It is asked to roll over
- by the signal `roll_over` (any payload, not read), which `casework versions promote` sends to
  every open case that is not on the version it promotes: an idle case would otherwise have no
  workflow task in which to notice;
- by the server, in any workflow task: `is_target_worker_deployment_version_changed()` (the
  flag is in the task's history event, so a replay sees what the run saw).
While asked, a queued case leaves its routing wait (routing.py) and the case rolls over within
seconds, whatever its state and age: an old version drains in bounded time.

The signal is behind the ROLL_OVER_SIGNAL patch: before it, a case refused a signal of that
name as a stray (on its feed), and a history holding such a refusal must replay as it ran.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from temporalio import workflow

from workflows.case.patches import ROLL_OVER_SIGNAL

ROLL_OVER = "roll_over"
"""The signal's name (casework.versions sends it)."""


class Moves:
    def __init__(self, patched: Callable[[str], bool]) -> None:
        self.patched = patched
        self.asked = False
        """The `roll_over` signal came: roll over at the next quiet point."""

    def ask(self) -> bool:
        """The `roll_over` signal: True if taken (False: a case before ROLL_OVER_SIGNAL, which
        refuses it as a stray)."""
        if not self.patched(ROLL_OVER_SIGNAL):
            return False
        self.asked = True
        return True

    def due(self) -> bool:
        """Whether the case is asked to move: by the signal, or by the server because this
        run's target version is no longer the one it runs on."""
        return self.asked or workflow.info().is_target_worker_deployment_version_changed()

    @staticmethod
    def build_id() -> str | None:
        """The build this run runs on; None on an unversioned worker (tests, versioning off)."""
        version = workflow.info().get_current_deployment_version()
        if version is None or not version.deployment_name:
            return None
        return version.build_id

    def continued_text(self, moved_from: str | None) -> str:
        """What the feed says as a run starts from its previous run's state."""
        here = self.build_id()
        if moved_from and here and moved_from != here:
            return f"history rolled over, from version {moved_from} to {here}; state carried"
        return "history rolled over; state carried"

    def continue_as_new(self, input: Any) -> NoReturn:
        """The next run, on the version that is current now (pinned there in turn)."""
        workflow.continue_as_new(
            input, initial_versioning_behavior=workflow.ContinueAsNewVersioningBehavior.AUTO_UPGRADE
        )
