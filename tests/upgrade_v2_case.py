"""Version 2 of the case workflow for the rollout test (issue 28): the same workflow type,
`Case`, whose run begins with one command version 1 never made (a 1 ms timer) before it goes
on as version 1 does. Replaying any history version 1 recorded on this class is therefore a
nondeterminism error ("Timer ... not found in history" or the like): a version 2 worker that
took over a version 1 run would wedge it. Only Worker Versioning keeps them apart: version 1
runs stay on version 1 workers, and a case reaches version 2 as a new run (continue-as-new).

A module of its own with nothing but the workflow, so the worker's sandbox re-imports it
cheaply for every run (tests/upgrade_v2_worker.py runs the worker).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RawValue, VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from casework.domain.models import CaseView

from workflows.case import CaseWorkflow
from workflows.inputs import NO_INPUT

V1_DEFINITION = workflow._Definition.must_from_class(CaseWorkflow)
V1_BEHAVIOR = V1_DEFINITION.versioning_behavior or VersioningBehavior.UNSPECIFIED
"""Version 1's versioning behaviour (PINNED), which version 2 declares too."""
V2_FIRST_TIMER = timedelta(milliseconds=1)
"""The extra command at the start of every version 2 run."""


@workflow.defn(name=V1_DEFINITION.name, versioning_behavior=V1_BEHAVIOR)
class CaseWorkflowV2(CaseWorkflow):
    """`Case` with an extra timer first: incompatible with every version 1 history."""

    @workflow.run
    async def run(self, start: RawValue = NO_INPUT) -> CaseView:
        await workflow.sleep(V2_FIRST_TIMER)
        return await super().run(start)
