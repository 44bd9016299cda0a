"""Prometheus metrics, scraped over HTTP after real cases: casework's (computed from the store
at scrape, casework.metrics) and the Temporal SDK's (the runtime's exporter)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from casework.domain.sla import DEFAULT_POLICY
from casework.metrics import runtime_with_metrics, serve_casework_metrics
from casework.store import Store
from tests.conftest import CONVERTER, TEST_RING, Desk, eventually, signed, target_of
from tests.postgres_cluster import free_port
from tests.test_case_sla import GOLD, PLATINUM, breached, manager_alerts, open_assigned, skip_to
from tests.test_up import Engine, engines, free_port_pair  # noqa: F401 (engines: a fixture)
from worker import activities_for, build_worker


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of http://127.0.0.1:port/metrics, by name and labels."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(samples: dict[Any, float], name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    return sum(
        v
        for (n, have), v in samples.items()
        if n == name and set(labels.items()) <= set(dict(have).items())
    )


async def test_casework_metrics_count_the_cases_that_ran(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """One PLATINUM P3 case answered in time, resolved and closed; one GOLD P1 case left
    unanswered past its target (S3: breached, the Escalation Manager alerted): the scrape
    counts each where it belongs."""
    server = serve_casework_metrics(store, 0)
    try:
        port = server.server_port
        answered = await open_assigned(desk, priority="P3", **PLATINUM)
        owner = answered.owner.engineer_id if answered.owner else ""
        await desk.act(answered.case_id, "respond", actor=owner, text="Looking at it")
        await desk.act(answered.case_id, "resolve", actor=owner, resolution="Fixed in 7.4.4")
        await desk.act(answered.case_id, "close", actor="acme-alice", reason="Thanks")
        await desk.until(answered.case_id, lambda v: v.state == "closed")

        late = await open_assigned(desk, priority="P1", **GOLD)
        await skip_to(env, late.sla.due_at + timedelta(seconds=1))
        await desk.until(late.case_id, breached)
        await eventually(lambda: manager_alerts(store, late.case_id))

        def settled() -> dict[Any, float] | None:
            samples = scrape(port)
            closed = total(samples, "casework_cases_closed_total")
            escalated = total(samples, "casework_escalations_raised_total")
            return samples if closed and escalated else None

        samples = await eventually(settled)
    finally:
        server.shutdown()

    assert total(samples, "casework_cases_opened_total") == 2
    assert total(samples, "casework_cases_opened_total", tier="PLATINUM", priority="P3") == 1
    assert total(samples, "casework_cases_opened_total", tier="GOLD", priority="P1") == 1
    assert total(samples, "casework_cases_closed_total", tier="PLATINUM", priority="P3") == 1
    assert total(samples, "casework_cases_closed_total", tier="GOLD") == 0
    assert total(samples, "casework_first_responses_total", within_target="true") == 1
    assert total(samples, "casework_first_responses_total", within_target="false") == 0
    assert total(samples, "casework_time_to_first_response_seconds_count") == 1
    assert total(samples, "casework_time_to_first_response_seconds_bucket", le="+Inf") == 1
    assert total(samples, "casework_cases_awaiting_first_response_past_target") == 1
    assert total(samples, "casework_escalations_raised_total", channel="sla_breach") == 1
    assert total(samples, "casework_escalations_acknowledged_total") == 0
    assert total(samples, "casework_open_cases") == 1, "the closed case released its owner"
    assert total(samples, "casework_open_cases", queue="gsc", level=late.level.value) == 1
    assert total(samples, "casework_notifications_pending") == len(store.outbox.rows())
    assert total(samples, "casework_notifications_failed") == 0


async def test_the_sdk_metrics_are_served_by_the_workers_runtime(
    env: WorkflowEnvironment, store: Store
) -> None:
    """A worker whose client has the metrics runtime reports the SDK's own metrics (workflow
    and activity tasks) on its port."""
    port = free_port()
    client = await Client.connect(
        target_of(env),
        namespace="default",
        data_converter=CONVERTER,
        runtime=runtime_with_metrics(f"127.0.0.1:{port}"),
    )
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with build_worker(
        client, task_queue=queue, activities=activities_for(store, DEFAULT_POLICY), ring=TEST_RING
    ):
        desk = Desk(signed(client), queue, {"index_search_attributes": False})
        try:
            await desk.open(priority="P3")

            def reported() -> dict[Any, float] | None:
                samples = scrape(port)
                # the intake's step is a local activity (issue 12); the case's writes are
                # activities (release 0.5.0: a case runs no local activity)
                ran = total(samples, "temporal_local_activity_execution_latency_count")
                wrote = total(samples, "temporal_activity_execution_latency_count")
                return samples if ran >= 1 and wrote >= 1 else None

            samples = await eventually(reported)
        finally:
            await desk.tidy_up()
    names = {name for name, _ in samples}
    assert total(samples, "temporal_workflow_task_execution_latency_count") > 0, sorted(names)
    assert (
        total(samples, "temporal_local_activity_execution_latency_count", task_queue=queue) >= 1
    ), sorted(names)
    assert total(samples, "temporal_activity_execution_latency_count", task_queue=queue) >= 1, (
        sorted(names)
    )


def test_casework_up_serves_both_metrics_on_the_ports_it_prints(
    tmp_path: Path,
    engines: list[Engine],  # noqa: F811
) -> None:
    port = free_port_pair()
    engine = Engine(tmp_path / "state", free_port(), free_port(), "--metrics-port", str(port))
    engines.append(engine)
    said = engine.wait_for("Metrics:")
    assert f"http://127.0.0.1:{port}/metrics (casework)" in said
    assert f"http://127.0.0.1:{port + 1}/metrics (Temporal SDK)" in said
    engine.wait_for("Ctrl+C")
    casework = scrape(port)
    assert total(casework, "casework_cases_opened_total") == 0
    assert ("casework_notifications_pending", ()) in casework
    sdk = httpx.get(f"http://127.0.0.1:{port + 1}/metrics", timeout=10).text
    assert "temporal_" in sdk
    assert engine.stop() == 0


def test_a_worker_refuses_a_metrics_port_in_use(tmp_path: Path) -> None:
    """Bad input changes nothing: a taken port is named before the worker starts anything."""
    import socket
    import subprocess

    from tests.worker_processes import TEST_KEYRING, casework_program

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*casework_program(), "--state-dir", str(tmp_path / "state"), "worker"]
            + ["--metrics-port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env={
                "PATH": "/usr/bin:/bin",
                "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
                "HOME": str(tmp_path),
                "CASEWORK_KEYRING_FILE": str(TEST_KEYRING),
                "TEMPORAL_ADDRESS": "127.0.0.1:1",
            },
        )
    assert result.returncode == 1, result.stderr
    assert f"cannot serve casework's metrics on 127.0.0.1:{port}" in result.stderr
    assert not (tmp_path / "state" / "casework.db").exists(), "nothing was started"
