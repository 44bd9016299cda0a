"""U5 in the outbox: a notification about a US Citizen Support case says so on its row (the case
workflow sets `restricted` and the account), and `casework outbox` withholds its body from
anyone but the restricted queue's members and that account's contacts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities import NotificationActivities
from casework.contracts import ManagerAlert, Notification
from casework.domain.us_citizen import notification_withheld, withhold_outbox
from casework.store import Store

AT = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
MEMBERS = {"usc-kara", "usc-liam"}
CYBERDYNE = {"cyberdyne-judy", "cyberdyne-ivan"}


@pytest.mark.parametrize(
    ("restricted", "account", "viewer", "withheld"),
    [
        (False, None, "operator", False),  # any other case: everyone reads it
        (False, "acme", "acme-alice", False),
        (True, "cyberdyne", "usc-kara", False),  # a member of the restricted queue
        (True, "cyberdyne", "cyberdyne-judy", False),  # a contact of the case's account
        (True, "cyberdyne", "operator", True),
        (True, "cyberdyne", "cc-dana", True),  # an engineer outside the queue
        (True, "cyberdyne", "acme-alice", True),  # another account's contact
        (True, None, "usc-liam", False),  # account unknown: members only
        (True, None, "cyberdyne-judy", True),
    ],
)
def test_who_reads_a_notification(
    restricted: bool, account: str | None, viewer: str, withheld: bool
) -> None:
    contacts = CYBERDYNE if account == "cyberdyne" else set()
    assert notification_withheld(restricted, account, viewer, MEMBERS, contacts) is withheld


def message(key: str, kind: str, person: str, **flags: Any) -> Notification:
    return Notification(
        key=key,
        case_id="case-000001",
        recipient_kind=kind,
        recipient_id=person,
        subject="case-000001 opened",
        body="We have your case: Enclave firewall drops the tunnel to site Bravo-7.",
        at=AT,
        **flags,
    )


def test_the_activities_keep_the_cases_flag_on_the_row(store: Store) -> None:
    notifications = NotificationActivities(store)
    env = ActivityEnvironment()
    flags = {"restricted": True, "account_id": "cyberdyne"}
    env.run(notifications.notify, message("k1", "contact", "cyberdyne-judy", **flags))
    env.run(notifications.notify, message("k2", "engineer", "gsc-erin"))
    env.run(
        notifications.alert_escalation_manager,
        ManagerAlert(key="k3", case_id="case-000001", subject="s", body="b", at=AT, **flags),
    )
    rows = store.outbox.rows("case-000001")
    assert [(r["restricted"], r["account_id"]) for r in rows] == [
        (True, "cyberdyne"),
        (False, None),
        (True, "cyberdyne"),
    ]


def outbox(store: Store, viewer: str) -> list[dict[str, Any]]:
    """Case 1's notifications as `viewer` reads them through the door (`GET /v1/outbox`, with
    the rule the door applies; tests/test_cli_us_citizen.py reads them through the door)."""
    rows = store.outbox.rows("case-000001")
    members = set(store.directory.restricted_members())
    contacts_of = {}
    for account_id in {r["account_id"] for r in rows if r["account_id"]}:
        found = store.directory.account(account_id)
        contacts_of[account_id] = {c.id for c in found.contacts} if found else set()
    withhold_outbox(rows, viewer, members, contacts_of)
    return rows


def test_casework_outbox_withholds_by_the_rows_flag(store: Store) -> None:
    """The flag decides, not the directory: the restricted case's rows are withheld from
    outsiders, the contact's address too; members and the account's contacts read them; the
    output has the same fields as before the flag."""
    notifications = NotificationActivities(store)
    flags = {"restricted": True, "account_id": "cyberdyne"}
    env = ActivityEnvironment()
    env.run(notifications.notify, message("k1", "contact", "cyberdyne-judy", **flags))
    env.run(notifications.notify, message("k2", "engineer", "usc-kara", **flags))
    for outsider in ("operator", "cc-dana", "acme-alice"):
        told = outbox(store, outsider)
        assert [(n["withheld"], n["body"]) for n in told] == [(True, "[withheld]")] * 2
        assert (told[0]["recipient_id"], told[0]["address"]) == ("[contact]", "[withheld]")
        assert told[1]["recipient_id"] == "usc-kara"
    for insider in ("usc-kara", "cyberdyne-judy", "cyberdyne-ivan"):
        told = outbox(store, insider)
        assert not any(n["withheld"] for n in told)
        assert told[0]["address"] == "judy@cyberdyne.example"
    assert set(outbox(store, "operator")[0]) == {
        "id",
        "idempotency_key",
        "case_id",
        "recipient_kind",
        "recipient_id",
        "address",
        "subject",
        "body",
        "created_at",
        "withheld",
        # issue 14: how its delivery went
        "status",
        "attempts",
        "failed_attempts",
        "next_attempt_at",
        "delivered_at",
        "last_error",
        "channels_done",
    }


def test_an_unflagged_row_is_read_by_everyone(store: Store) -> None:
    """A case the workflow did not flag is an ordinary case, whoever it writes to."""
    notifications = NotificationActivities(store)
    ActivityEnvironment().run(notifications.notify, message("k1", "contact", "acme-alice"))
    assert [n["withheld"] for n in outbox(store, "operator")] == [False]
