"""Structured logs (casework.observability): one JSON object per line, each carrying the case
id, workflow and activity (null when not about one), and never a case's content (U5)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from casework.observability import log_handler
from casework.store import Store
from tests.conftest import Desk, eventually, signed, target_of
from tests.worker_processes import WorkerProcess, casework_program, until_polling

CANARY = "CANARY-logs-5c1e"
FIELDS = {"time", "level", "logger", "message", "case_id", "workflow", "activity"}


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
    return parsed


async def test_activity_lines_carry_the_case_and_no_restricted_content(
    desk: Desk, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """U5: a US Citizen Support case whose description and comment hold a canary: the worker's
    lines about it name the case, the workflow and the activity, and never the canary."""
    caplog.set_level(logging.INFO)
    out = io.StringIO()
    handler = log_handler(out, as_json=True)
    logging.getLogger().addHandler(handler)
    try:
        restricted = await desk.open(
            account_id="cyberdyne",
            contact_id="cyberdyne-ivan",
            description=f"Enclave tunnel {CANARY}",
        )
        await desk.act(restricted, "comment", actor="cyberdyne-ivan", text=f"more {CANARY}")
        ordinary = await desk.open(description="HA flaps")

        def about_both() -> list[dict[str, Any]]:
            lines = json_lines(out.getvalue())
            cases = {line["case_id"] for line in lines if line["activity"]}
            return lines if {restricted, ordinary} <= cases else []

        lines = await eventually(about_both)
    finally:
        logging.getLogger().removeHandler(handler)
    assert all(set(line) >= FIELDS for line in lines), [set(line) for line in lines]
    feed_lines = [
        line
        for line in lines
        if line["case_id"] == restricted and line["activity"] == "apply_effects"
    ]
    assert feed_lines and all(line["workflow"] == "Case" for line in feed_lines)
    assert any(line["workflow"] == "Intake" and line["activity"] for line in lines)
    assert CANARY not in out.getvalue()
    assert "Enclave" not in out.getvalue()


async def test_a_worker_process_writes_json_lines_only(
    dev_env: WorkflowEnvironment, store: Store, db_url: str, tmp_path: Path
) -> None:
    """`casework worker` with its output not on a terminal: every line it writes, its own and
    the SDK core's, is a JSON object with the case fields."""
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    worker = WorkerProcess.start(
        "logs",
        folder=tmp_path,
        temporal=target_of(dev_env),
        task_queue=queue,
        db_url=db_url,
        extra_env={"CASEWORK_LOG_FORMAT": ""},
    )
    desk = Desk(signed(dev_env.client), queue, {})
    try:
        await until_polling(dev_env.client, queue, [worker])
        case_id = await desk.open(description=f"HA {CANARY}")
        await desk.until(case_id, lambda v: v.owner is not None)
        await eventually(lambda: case_id in worker.said())
    finally:
        await desk.tidy_up()
        worker.stop()
    lines = json_lines(worker.said())
    assert all(set(line) >= FIELDS for line in lines)
    assert any(line["message"].startswith("casework worker on task queue") for line in lines)
    assert any(line["case_id"] == case_id and line["activity"] == "apply_effects" for line in lines)
    assert CANARY not in worker.said()


def test_an_unknown_log_format_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [*casework_program(), "--state-dir", str(tmp_path), "worker"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
            "CASEWORK_LOG_FORMAT": "xml",
            "HOME": str(tmp_path),
        },
    )
    assert result.returncode == 2, result.stderr
    assert "CASEWORK_LOG_FORMAT must be json or text, not 'xml'" in result.stderr
