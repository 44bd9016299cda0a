"""`casework outbox` as a user types it, the table (not `--output json`), against the door on
a real engine with a notification in the outbox: the API answers times as ISO strings, and the
table must print them, for every profile that may read the outbox."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from casework.store import Store
from tests import test_cli
from tests.conftest import Desk, eventually

pytestmark = pytest.mark.timeout(60)

cli_env = test_cli.cli_env


async def test_the_outbox_table_prints_each_notification_with_its_time(
    cli_env: Desk, store: Store
) -> None:
    """E4: the customer and Customer Care each see the case's notifications as a table: who was
    told what and when (the time the JSON answer gives, in UTC), not a crash."""
    desk = cli_env
    case_id = test_cli.opened_case(await test_cli.cli(*test_cli.OPEN), desk)
    await eventually(lambda: store.outbox.rows(case_id))
    as_json = await test_cli.act_ok("outbox", "--case", case_id, "--output", "json")
    opened = next(n for n in json.loads(as_json) if n["subject"] == f"{case_id} opened")
    sent_at = datetime.fromisoformat(opened["created_at"])

    for profile in ("acme-alice", "cc-dana"):
        table = await test_cli.cli("--profile", profile, "outbox", "--case", case_id)
        assert table.exit_code == 0, table.output
        assert table.exception is None, repr(table.exception)
        line = next(row for row in table.stdout.splitlines() if f"{case_id} opened" in row)
        assert "acme-alice" in line, line
        shown = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", table.stdout)
        assert shown, table.stdout
        assert shown.group() == sent_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
