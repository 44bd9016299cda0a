"""`casework open --category security_vulnerability` and `casework list --security` through the
CLI, against the dev server (search attributes) with a real worker (A5)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Desk
from tests.test_cli import OPEN, cli, cli_env, listed, opened_case

pytestmark = pytest.mark.timeout(60)

__all__ = ["cli_env"]


async def test_a_security_issue_opened_by_the_cli_is_listed_with_security(cli_env: Desk) -> None:
    """A5: the operator opens a security vulnerability issue; `casework list --security` shows
    it at L2 with Grace (the L2 engineer with the security skill), and not the support case."""
    desk = cli_env
    security = opened_case(await cli(*OPEN, "--category", "security_vulnerability"), desk)
    support = opened_case(await cli(*OPEN), desk)
    for case_id in (security, support):
        await desk.until(case_id, lambda v: v.state == "in_progress")

    rows = await listed(desk, security, "--security")
    assert [r["case_id"] for r in rows if r["case_id"] in (security, support)] == [security]
    row = next(r for r in rows if r["case_id"] == security)
    assert (row["level"], row["owner"], row["security"]) == ("L2", "gsc-grace", True)

    table = await cli("list", "--security", "--limit", "1000")
    assert table.exit_code == 0 and security in table.stdout and support not in table.stdout
    shown = await cli("show", security, "--output", "json")
    assert json.loads(shown.stdout)["category"] == "security_vulnerability"
    for case_id in (security, support):
        await cli("--profile", "acme-alice", "close", case_id)
