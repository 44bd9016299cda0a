"""The workflow sandbox, without its cost per payload.

For every payload of every command and activation, the SDK asks the workflow instance which
serialization context (and which external-store context) the payload belongs to. The
sandboxed instance answers by compiling and `exec`ing a snippet inside the sandbox each time:
measured, a sixth of the worker's busy time in a case's lifecycle (`benchmarks/lifecycle.py`
under py-spy: `_Instance.get_serialization_context` 15%, the store context 5% more).

For most payloads the answer needs nothing from inside the sandbox: a payload tied to no
command, to an activity, to a timer, a marker, an update or the workflow's completion belongs
to the workflow itself (the SDK's own rules in `_WorkflowInstanceImpl`). `ShortcutRunner` wraps
the sandboxed runner and answers those from the workflow's info outside the sandbox; commands
that address another workflow or a Nexus operation (a child workflow, a signal to another
workflow, the completion of a child) still ask the sandbox, so they keep the SDK's answer.

One difference, chosen: an activity's payloads get the workflow's context instead of the
SDK's `ActivitySerializationContext` (which names the activity), because the worker's
converter (`casework.codec.payload`) reads nothing from a context but the workflow id, and
both carry the same one. `tests/test_sandbox_shortcut.py` holds the converter to that, and
the whole suite runs on this runner. A converter that cares about the activity must not use it.
"""

from __future__ import annotations

from collections.abc import Sequence

import temporalio.workflow
from temporalio.api.enums.v1 import CommandType
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import (
    SerializationContext,
    StorageDriverStoreContext,
    StorageDriverWorkflowInfo,
    WorkflowSerializationContext,
)
from temporalio.worker import (
    WorkflowInstance,
    WorkflowInstanceDetails,
    WorkflowRunner,
)
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

ELSEWHERE = frozenset(
    {
        CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
        CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
        CommandType.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION,
    }
)
"""Commands whose payloads may belong to another workflow or operation: asked of the sandbox."""
STORED_ELSEWHERE = ELSEWHERE | {CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION}
"""The same for the external-store context (a child's result is stored with its parent)."""


class ShortcutInstance(WorkflowInstance):
    """A sandboxed workflow instance, with the workflow's own contexts answered outside it."""

    def __init__(self, inner: WorkflowInstance, info: temporalio.workflow.Info) -> None:
        self.inner = inner
        self.context = WorkflowSerializationContext(
            namespace=info.namespace, workflow_id=info.workflow_id
        )
        self.store_context = StorageDriverStoreContext(
            target=StorageDriverWorkflowInfo(
                id=info.workflow_id,
                run_id=info.run_id,
                type=info.workflow_type,
                namespace=info.namespace,
            )
        )

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        return self.inner.activate(act)

    def get_serialization_context(
        self, command_info: CommandInfo | None
    ) -> SerializationContext | None:
        if command_info is None or command_info.command_type not in ELSEWHERE:
            return self.context
        return self.inner.get_serialization_context(command_info)

    def get_external_store_context(
        self, command_info: CommandInfo | None
    ) -> StorageDriverStoreContext:
        if command_info is None or command_info.command_type not in STORED_ELSEWHERE:
            return self.store_context
        return self.inner.get_external_store_context(command_info)

    def get_info(self) -> temporalio.workflow.Info:
        return self.inner.get_info()

    def get_thread_id(self) -> int | None:
        return self.inner.get_thread_id()


class ShortcutRunner(WorkflowRunner):
    """`SandboxedWorkflowRunner`, its instances wrapped in `ShortcutInstance`."""

    def __init__(self, sandboxed: SandboxedWorkflowRunner) -> None:
        self.sandboxed = sandboxed

    def prepare_workflow(self, defn: temporalio.workflow._Definition) -> None:
        self.sandboxed.prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return ShortcutInstance(self.sandboxed.create_instance(det), det.info)

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        self.sandboxed.set_worker_level_failure_exception_types(types)
