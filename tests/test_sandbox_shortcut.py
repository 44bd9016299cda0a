"""The worker's runner answers the sandbox's per-payload context lookups outside the sandbox
(`casework.sandbox`, issue 12): every payload must still be sealed for the workflow it belongs
to (U5: a child's input with the child's realm, a signal with its target's), exactly as the
plain sandbox does it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from casework.codec import data_converter
    from casework.codec.payload import EncryptionCodec
    from casework.identity.keyring import fresh_ring
    from casework.sandbox import ShortcutRunner
    from worker import WORKFLOW_RUNNER


class RecordingCodec(PayloadCodec, WithSerializationContext):
    """Records which workflow each encoded payload was sealed for."""

    def __init__(self, seen: list[str], workflow_id: str | None = None) -> None:
        self.seen = seen
        self.workflow_id = workflow_id

    def with_context(self, context: SerializationContext) -> RecordingCodec:
        workflow_id = getattr(context, "workflow_id", None)
        return RecordingCodec(self.seen, workflow_id)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        for payload in payloads:
            self.seen.append(f"{self.workflow_id}:{payload.data.decode()}")
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


@activity.defn
async def echo(text: str) -> str:
    return f"echo-{text}"


@workflow.defn
class Child:
    def __init__(self) -> None:
        self.poked = ""

    @workflow.signal
    def poke(self, text: str) -> None:
        self.poked = text

    @workflow.run
    async def run(self, text: str) -> str:
        await workflow.wait_condition(lambda: bool(self.poked))
        return f"child-result-{text}"


@workflow.defn
class Parent:
    @workflow.run
    async def run(self, text: str) -> str:
        echoed = await workflow.execute_activity(
            echo, f"to-activity-{text}", start_to_close_timeout=timedelta(seconds=10)
        )
        local = await workflow.execute_local_activity(
            echo, f"to-local-{text}", start_to_close_timeout=timedelta(seconds=10)
        )
        child_id = f"{workflow.info().workflow_id}-child"
        child = await workflow.start_child_workflow(Child.run, f"to-child-{text}", id=child_id)
        await workflow.get_external_workflow_handle(child_id).signal(
            Child.poke, f"to-signal-{text}"
        )
        result = await child
        return f"{echoed}|{local}|{result}"


async def _sealed_for(env: WorkflowEnvironment, runner: object) -> dict[str, str]:
    seen: list[str] = []
    config = env.client.config()
    config["data_converter"] = DataConverter(payload_codec=RecordingCodec(seen))
    client = type(env.client)(**config)
    queue = f"shortcut-{uuid.uuid4().hex[:8]}"
    parent_id = f"parent-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[Parent, Child],
        activities=[echo],
        workflow_runner=runner,  # type: ignore[arg-type]
    ):
        result = await client.execute_workflow(Parent.run, "x", id=parent_id, task_queue=queue)
    assert result == "echo-to-activity-x|echo-to-local-x|child-result-to-child-x"
    sealed: dict[str, str] = {}
    for entry in seen:
        workflow_id, _, data = entry.partition(":")
        sealed[data] = workflow_id.replace(parent_id, "PARENT")
    return sealed


async def test_every_payload_is_sealed_for_the_workflow_it_belongs_to(
    env: WorkflowEnvironment,
) -> None:
    """The shortcut runner and the SDK's sandbox seal each payload for the same workflow: the
    activity's input and result, the local activity's, the child's input, the signal to the
    child and the child's result each for their own workflow."""
    plain = await _sealed_for(env, WORKFLOW_RUNNER.sandboxed)
    shortcut = await _sealed_for(env, WORKFLOW_RUNNER)
    assert shortcut == plain
    assert shortcut['"to-child-x"'] == "PARENT-child"
    assert shortcut['"to-signal-x"'] == "PARENT-child"
    assert shortcut['"to-activity-x"'] == "PARENT"
    assert shortcut['"child-result-to-child-x"'] == "PARENT-child"


def test_the_worker_runs_the_shortcut() -> None:
    assert isinstance(WORKFLOW_RUNNER, ShortcutRunner)


def test_the_casework_converter_reads_only_the_workflow_id_from_a_context() -> None:
    """Why an activity's payloads may take the workflow's context: the casework converter
    seals by workflow id alone, so the two contexts give the same codec."""
    converter = data_converter(fresh_ring(), lambda _workflow_id: None)
    as_workflow = converter.with_context(
        WorkflowSerializationContext(namespace="default", workflow_id="case-000042")
    )
    as_activity = converter.with_context(
        ActivitySerializationContext(
            namespace="default",
            workflow_id="case-000042",
            workflow_type="Case",
            activity_type="apply_effects",
            activity_id="7",
            activity_task_queue="casework",
            is_local=False,
        )
    )
    assert isinstance(as_workflow.payload_codec, EncryptionCodec)
    assert isinstance(as_activity.payload_codec, EncryptionCodec)
    assert vars(as_workflow.payload_codec) == vars(as_activity.payload_codec)
    assert as_workflow.payload_converter is as_activity.payload_converter
    assert as_workflow.failure_converter is as_activity.failure_converter
