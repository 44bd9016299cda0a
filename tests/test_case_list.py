"""Every path that lists or shows a case says what the case is now (issue 11): once per case
after it continued as new (Temporal keeps a closed row for each earlier run), and, for a case
whose workflow no longer runs (terminated by an operator), how it ended.

Runs the CLI against the door on the dev server (the `cli_env` fixture of test_cli): the only
server with search attributes and listing. Visibility is eventually consistent: a list is
polled until the row it waits for is there, then checked.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus

from casework.client import case_list_query, list_cases
from casework.domain.models import CaseView
from casework.store import Store
from tests.conftest import Desk, eventually
from tests.test_cli import cli, cli_env  # noqa: F401  (the fixture)

pytestmark = pytest.mark.timeout(120)

ROLL_OVER_AFTER = 8
"""History events after which a test case continues as new (`continue_as_new_after_events`)."""


async def list_rows(*filters: str, profile: str = "acme-alice") -> list[dict[str, Any]]:
    result = await cli(
        "--profile", profile, "list", *filters, "--limit", "1000", "--output", "json"
    )
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


async def until_row(
    case_id: str, predicate: Callable[[dict[str, Any]], bool], *filters: str
) -> list[dict[str, Any]]:
    """`casework list` (with `filters`), polled until a row of the case satisfies `predicate`;
    all the rows of that list."""
    rows: list[dict[str, Any]] = []

    async def listed_so() -> bool:
        nonlocal rows
        rows = await list_rows(*filters)
        return any(r["case_id"] == case_id and predicate(r) for r in rows)

    await eventually(
        listed_so,
        every=0.2,
        what=lambda: (
            f"{case_id} listed as expected with {filters}; its rows: "
            f"{[r for r in rows if r['case_id'] == case_id]}"
        ),
    )
    return rows


async def roll_over(desk: Desk, store: Store, case_id: str) -> None:
    """Comment on the case until it has continued as new at least once."""
    first_run = (await desk.case(case_id).describe()).run_id
    for i in range(30):
        text = f"comment {i:02d}"
        await desk.act(case_id, "comment", actor="acme-alice", text=text)
        await eventually(
            lambda: any(n["body"] == text for n in store.outbox.rows(case_id))  # noqa: B023
        )
        await desk.settle(case_id)
        if (await desk.case(case_id).describe()).run_id != first_run:
            return
    raise AssertionError(f"{case_id} did not continue as new after 30 comments")


async def test_a_case_that_continued_as_new_is_listed_once_as_it_is_now(
    cli_env: Desk,  # noqa: F811
    store: Store,
) -> None:
    """E4: after a roll-over the case is one row, and a filter matches what it is now: the
    earlier run's row (in_progress) neither shows nor matches `--state in_progress`."""
    desk = cli_env
    desk.case_options = {"continue_as_new_after_events": ROLL_OVER_AFTER}
    case_id = await desk.open(priority="P3")
    await desk.until(case_id, lambda v: v.state == "in_progress")
    await roll_over(desk, store, case_id)
    await desk.act(case_id, "request_info", actor="cc-dana", items=["logs"])
    await desk.until(case_id, lambda v: v.state == "waiting_on_customer")

    rows = await until_row(case_id, lambda r: r["state"] == "waiting_on_customer")
    assert [r["state"] for r in rows if r["case_id"] == case_id] == ["waiting_on_customer"]
    assert len({r["case_id"] for r in rows}) == len(rows), "a case listed twice"

    in_progress = await list_rows("--state", "in_progress")
    assert case_id not in [r["case_id"] for r in in_progress]
    waiting = await list_rows("--state", "waiting_on_customer")
    assert [r["case_id"] for r in waiting].count(case_id) == 1

    # the client's list, as integrations call it: one row per case, the limit counts cases
    query = case_list_query(account="acme") + f" AND TaskQueue = '{desk.task_queue}'"
    found = await list_cases(desk.client, query, limit=10)
    assert [c.case_id for c in found] == [case_id]
    assert found[0].state == "waiting_on_customer"


async def test_a_terminated_case_says_it_ended_and_takes_no_action(
    cli_env: Desk,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A case an operator terminated (`temporal workflow terminate`) is no longer in
    progress: `show` (its JSON's `state` too), the API's case and `list` say it was terminated,
    and the text still says the state it was left in; `--state in_progress` does not match it,
    and an action on it is refused with that reason."""
    desk = cli_env
    case_id = await desk.open(priority="P3")
    await desk.until(case_id, lambda v: v.state == "in_progress")
    await desk.case(case_id).terminate(reason="operator: duplicate of another case")
    status = (await desk.case(case_id).describe()).status
    assert status is WorkflowExecutionStatus.TERMINATED

    shown = await cli("show", case_id, "--output", "json")
    assert shown.exit_code == 0, shown.output
    view = CaseView.model_validate_json(shown.stdout)
    assert (view.state, view.ended, view.last_state) == ("terminated", "terminated", "in_progress")
    assert view.allowed_actions == []
    text = await cli("show", case_id)
    assert text.exit_code == 0, text.output
    assert "terminated (was in_progress)" in text.stdout.splitlines()[0]
    assert "nothing more can be done" in text.stdout

    profiles = tomllib.loads((tmp_path / "state" / "profiles.toml").read_text())["profiles"]
    alice = profiles["acme-alice"]
    async with httpx.AsyncClient(base_url=alice["url"], timeout=60) as api:
        bearer = {"Authorization": f"Bearer {alice['key']}"}
        got = await api.get(f"/v1/cases/{case_id}", headers=bearer)
    assert got.status_code == 200, got.text
    assert (got.json()["state"], got.json()["ended"]) == ("terminated", "terminated")

    rows = await until_row(case_id, lambda r: r.get("ended") is not None)
    row = next(r for r in rows if r["case_id"] == case_id)
    assert row["ended"] == "terminated"
    table = await cli("list")
    line = next(line for line in table.stdout.splitlines() if case_id in line)
    assert "terminated" in line
    assert case_id not in [r["case_id"] for r in await list_rows("--state", "in_progress")]
    assert case_id in [r["case_id"] for r in await list_rows("--state", "terminated")]

    late = await cli("--profile", "acme-alice", "comment", case_id, "--text", "hello?")
    assert late.exit_code == 1
    assert f"{case_id} was terminated" in late.stderr
