"""Directory entries gain their channels (issue 14): `notify:` on any person, validated on load
with the line and the reason; loaded into the database with the directory; what a message says
on its way out (U5, E3), pure."""

from __future__ import annotations

from pathlib import Path

from casework.domain.channels import Channels, channels_of, lanes_to_wake
from casework.engine import load_directory
from casework.notify.compose import compose, message_id, pagerduty_payload
from casework.store import Store
from tests.test_directory_file import DEMO, line_of, mutate, refusal_of

INES = """  - id: em-ines
    name: Ines Okafor
    email: ines@vendor.example"""


def test_a_manager_may_be_paged_and_told_in_chat(tmp_path: Path, store: Store) -> None:
    text = mutate(
        INES,
        INES + "\n    notify: {chat: 'https://chat.example/hooks/1', page: {kind: pagerduty, "
        "url: 'https://events.pagerduty.example/v2/enqueue', routing_key: R0123}}",
    )
    path = tmp_path / "directory.yaml"
    path.write_text(text, encoding="utf-8")
    directory = load_directory(path)
    store.directory.replace(directory)
    channels = store.directory.channels("em-ines")
    assert channels is not None and channels.page is not None
    assert channels.page.routing_key == "R0123"
    assert channels_of("ines@vendor.example", channels) == ["email", "chat", "page"]
    assert store.directory.channels("em-jon") is None  # no notify: by email
    assert channels_of("jon@vendor.example", None) == ["email"]
    assert [m.id for m in store.directory.rota()] == ["em-ines", "em-jon"]


def test_only_managers_are_paged(tmp_path: Path) -> None:
    text = mutate(
        'email: alice@acme.example, phone: "+1 212 555 0101"}',
        'email: alice@acme.example, notify: {page: {kind: webhook, url: "https://p.example"}}}',
    )
    message = refusal_of(tmp_path, text)
    assert message.startswith(f"{line_of(DEMO, 'id: acme-alice')}:"), message
    assert "acme-alice cannot be paged: paging is for Escalation Managers" in message


def test_a_pagerduty_pager_needs_its_routing_key(tmp_path: Path) -> None:
    text = mutate(INES, INES + "\n    notify: {page: {url: 'https://events.example/v2'}}")
    message = refusal_of(tmp_path, text)
    assert "needs the service's routing_key" in message and "kind: webhook" in message


def test_email_needs_an_address_and_a_url_must_be_one(tmp_path: Path) -> None:
    text = mutate(
        "  - id: em-jon\n    name: Jon Svensson\n    email: jon@vendor.example",
        "  - id: em-jon\n    name: Jon Svensson\n    notify: {email: true}",
    )
    assert "em-jon has channels.email but no email address" in refusal_of(tmp_path, text)
    text = mutate(INES, INES + "\n    notify: {chat: 'slack please'}")
    message = refusal_of(tmp_path, text)
    assert "notify.chat" in message and "https?://" in message


ROW = {
    "idempotency_key": "case-000007-E1:step-0",
    "case_id": "case-000007",
    "recipient_kind": "escalation_manager",
    "recipient_id": "em-ines",
    "subject": "Escalation case-000007-E1 on case-000007",
    "body": "sla breach: Enclave firewall drops the tunnel. Acknowledge within 15m: casework "
    "acknowledge case-000007 --as em-ines",
}


def test_a_withheld_message_carries_no_content_but_how_to_acknowledge() -> None:
    """U5 and E3: a non-member manager learns there is news, where to read it after signing
    in, and the command that acknowledges (which stops the ladder)."""
    message = compose(ROW, withheld=True, public_url="https://cases.example")
    assert "Enclave" not in message.text and "Enclave" not in message.subject
    assert "sign in" in message.text
    assert "https://cases.example/cases/case-000007" in message.text
    assert "casework --profile em-ines acknowledge case-000007" in message.text
    assert message.subject == "Escalation case-000007-E1 on case-000007"  # carries no content
    page = pagerduty_payload(message, "R1")
    assert page["dedup_key"] == "case-000007-E1:step-0"
    assert "Enclave" not in str(page)


def test_a_readable_message_keeps_its_content_and_drops_the_old_acknowledge_hint() -> None:
    message = compose(ROW, withheld=False, public_url="http://127.0.0.1:8234")
    assert "Enclave firewall" in message.text
    assert "--as em-ines" not in message.text  # the door's credential says who acknowledges
    assert message_id(ROW["idempotency_key"]) == message_id("case-000007-E1:step-0")
    assert message_id("a") != message_id("b")


def test_a_contacts_message_does_not_say_how_to_acknowledge() -> None:
    row = {**ROW, "recipient_kind": "contact", "recipient_id": "acme-alice", "subject": "x"}
    message = compose(row, withheld=True, public_url="http://h")
    assert message.acknowledge is None and message.subject == "News on case-000007"
    assert Channels().email is True


def test_outbox_rows_from_before_the_relay_are_not_sent_after_an_upgrade(tmp_path: Path) -> None:
    """Migration 0004: rows queued when delivery was outside the engine are marked
    before_relay (never mailed as old news); rows queued after it are pending."""
    import shutil
    import sqlite3

    from tests.conftest import ENGINE_RING
    from tests.test_store_migrations import BEFORE_MIGRATIONS

    path = tmp_path / "old.db"
    shutil.copy(BEFORE_MIGRATIONS, path)
    with sqlite3.connect(path) as conn:
        old = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    assert old > 0
    store = Store(f"sqlite:///{path}", ENGINE_RING)
    try:
        statuses = {r["status"] for r in store.outbox.rows()}
        assert statuses == {"before_relay"}
        from datetime import UTC, datetime

        assert store.outbox.due(datetime.now(UTC), 1000) == []
        store.outbox.add("new", recipient_kind="engineer", recipient_id="x", subject="s", body="b")
        assert [r["idempotency_key"] for r in store.outbox.due(datetime.now(UTC), 10)] == ["new"]
    finally:
        store.dispose()


def test_a_new_message_wakes_the_lanes_of_its_recipients_channels() -> None:
    """Issue 30: the relay's lanes a new row wakes, before any plan: email unless turned off,
    chat and page as the person has them, and email when nothing is left (it plans the row
    dead, with the fix)."""
    pager = {"kind": "pagerduty", "url": "https://events.example/v2", "routing_key": "R"}
    assert lanes_to_wake(None) == ["email"]
    assert lanes_to_wake(Channels(page=pager)) == ["email", "page"]  # type: ignore[arg-type]
    chat_only = Channels(email=False, chat="https://chat.example/hook")  # type: ignore[arg-type]
    assert lanes_to_wake(chat_only) == ["chat"]
    assert lanes_to_wake(Channels(email=False)) == ["email"]
