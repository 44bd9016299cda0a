"""Traces (casework.observability): with the SDK's TracingInterceptor on the client, one trace
follows a case from the open call through the Intake workflow, the case workflow and their
activities. Spans go to an in-memory exporter here; a deployment exports them over OTLP."""

from __future__ import annotations

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.testing import WorkflowEnvironment

from casework.domain.sla import DEFAULT_POLICY
from casework.observability import otlp_provider, tracing_configured, tracing_interceptors
from casework.store import Store
from tests.conftest import TEST_RING, Desk, eventually, signed, target_of
from tests.worker_processes import WorkerProcess, until_polling
from worker import activities_for, build_worker


async def test_one_trace_follows_a_case_from_the_open_call_to_its_activities(
    env: WorkflowEnvironment, store: Store
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("casework-test")
    config = env.client.config()
    config["interceptors"] = [TracingInterceptor(tracer)]
    client = Client(**config)
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with build_worker(
        client, task_queue=queue, activities=activities_for(store, DEFAULT_POLICY), ring=TEST_RING
    ):
        desk = Desk(signed(client), queue, {"index_search_attributes": False})
        try:
            with tracer.start_as_current_span("open call") as root:
                case_id = await desk.open(priority="P3")
            await desk.until(case_id, lambda v: v.owner is not None)

            def traced() -> set[str]:
                names = {s.name for s in exporter.get_finished_spans()}
                return names if "RunActivity:apply_effects" in names else set()

            await eventually(traced)
        finally:
            await desk.tidy_up()
    spans = exporter.get_finished_spans()
    trace_id = root.get_span_context().trace_id
    in_trace = {s.name for s in spans if s.context.trace_id == trace_id}
    assert {
        "open call",
        "StartWorkflow:Intake",
        "RunWorkflow:Intake",
        "RunActivity:intake_and_start_case",  # the intake's checks, first routing, the start
        "StartWorkflow:Case",
        "RunWorkflow:Case",
        "RunActivity:apply_effects",  # the feed, notifications and facts of a workflow task
    } <= in_trace, sorted(in_trace)
    case_spans = [s for s in spans if s.name == "RunWorkflow:Case"]
    assert all(s.context.trace_id == trace_id for s in case_spans)


def test_tracing_is_off_unless_an_otlp_endpoint_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(variable, raising=False)
    assert not tracing_configured() and tracing_interceptors("casework-worker") == []
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "casework-eu-1")
    assert tracing_configured()
    provider = otlp_provider("casework-worker")
    try:
        assert provider.resource.attributes["service.name"] == "casework-eu-1"
    finally:
        provider.shutdown()


class _Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: keeps the names of the spans it is sent."""

    names: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.names.extend(span.name for span in scope.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


async def test_a_worker_process_exports_its_spans_over_otlp(
    dev_env: WorkflowEnvironment, store: Store, db_url: str, tmp_path: Path
) -> None:
    """`casework worker` with OTEL_EXPORTER_OTLP_ENDPOINT set sends its workflows' and
    activities' spans to the collector there (OTLP over HTTP)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    worker = WorkerProcess.start(
        "traced",
        folder=tmp_path,
        temporal=target_of(dev_env),
        task_queue=queue,
        db_url=db_url,
        extra_env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        },
    )
    desk = Desk(signed(dev_env.client), queue, {})
    try:
        await until_polling(dev_env.client, queue, [worker])
        case_id = await desk.open(priority="P3")
        await desk.until(case_id, lambda v: v.owner is not None)
        await eventually(lambda: "RunActivity:apply_effects" in _Collector.names)
    finally:
        await desk.tidy_up()
        worker.stop()
        server.shutdown()
    assert {"RunWorkflow:Intake", "RunWorkflow:Case", "RunActivity:intake_and_start_case"} <= set(
        _Collector.names
    )
