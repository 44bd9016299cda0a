"""The workflows as an unversioned worker registers them (issue 28): the same workflows, under
the same names, without the versioning behaviour their definitions declare.

Each workflow declares `versioning_behavior=PINNED`, which a versioned worker (worker.py,
`build_worker(..., version=...)`) needs. The dev server refuses it from an unversioned worker:
the SDK sends a definition's behaviour with every workflow task it completes, and the server
answers "versioning behavior cannot be specified without deployment options being set with
versioned mode", so every task fails, again and again. An unversioned worker (tests that build
workers in-process, CASEWORK_WORKER_VERSIONING=off) registers these twins instead: subclasses
with every handler of their parent, whose `run` is their parent's, and no declared behaviour.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from casework.domain.models import CaseView, OpenCaseResult
    from casework.notify.contracts import RELAY_WORKFLOW

from workflows.case import CaseWorkflow
from workflows.inputs import NO_INPUT
from workflows.intake import IntakeWorkflow
from workflows.relay import NotificationRelay


@workflow.defn(name="Case")
class UnversionedCase(CaseWorkflow):
    @workflow.run
    async def run(self, start: RawValue = NO_INPUT) -> CaseView:
        return await super().run(start)


@workflow.defn(name="Intake")
class UnversionedIntake(IntakeWorkflow):
    @workflow.run
    async def run(self, input: RawValue = NO_INPUT) -> OpenCaseResult:
        return await super().run(input)


@workflow.defn(name=RELAY_WORKFLOW)
class UnversionedRelay(NotificationRelay):
    @workflow.run
    async def run(self, input: RawValue = NO_INPUT) -> None:
        await super().run(input)


UNVERSIONED_WORKFLOWS = [UnversionedCase, UnversionedIntake, UnversionedRelay]
