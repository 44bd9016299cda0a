"""The operator's notification commands (issue 14): `casework outbox --failed` and `retry`,
`casework mail`, `casework webhooks add | list | remove`, and the door's `/v1/webhooks` for the
deployment's operators only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from activities import NotificationActivities
from casework.cli import app
from casework.contracts import Notification
from casework.notify.compose import Outgoing
from casework.notify.config import RelayConfig, RelayConfigError
from casework.notify.send import send_mail
from casework.store import Store
from tests import receivers
from tests.conftest import ENGINE_RING, Desk
from tests.door_helpers import bearer, door, key_for
from tests.test_notify_relay import AT, SECRET_TEXT

smtp_sink = receivers.smtp_sink  # the fixture


@pytest.fixture
def operator_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: Store) -> Path:
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    monkeypatch.setenv("CASEWORK_DB_URL", store.url)
    monkeypatch.setenv("CASEWORK_STATE_DIR", str(state))
    monkeypatch.setenv("CASEWORK_KEYRING", ENGINE_RING.to_json())
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")  # no engine: retry says so
    return state


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def dead_row(store: Store, restricted: bool) -> int:
    flags = {"restricted": True, "account_id": "cyberdyne"} if restricted else {}
    NotificationActivities(store).notify(
        Notification(
            key=f"k-{restricted}",
            case_id="case-000001",
            recipient_kind="contact",
            recipient_id="cyberdyne-judy",
            subject="Update on case-000001",
            body=SECRET_TEXT,
            at=AT,
            **flags,
        )
    )
    [row] = [r for r in store.outbox.due(AT, 10) if r["idempotency_key"] == f"k-{restricted}"]
    store.outbox.record_attempt(
        row["id"], at=AT, channels_done=[], error="SMTP: refused", retry_at=None
    )
    return int(row["id"])


def test_failed_lists_dead_letters_without_restricted_content_and_retry_requeues(
    operator_env: Path, store: Store
) -> None:
    dead = dead_row(store, restricted=True)
    shown = cli("outbox", "--failed", "--output", "json")
    assert shown.exit_code == 0, shown.output
    [row] = json.loads(shown.stdout)
    assert (row["id"], row["status"], row["attempts"]) == (dead, "dead", 1)
    assert row["body"] == "[withheld]" and row["recipient_id"] == "[contact]"  # U5
    assert SECRET_TEXT not in shown.stdout
    table = cli("outbox", "--failed")
    assert "SMTP: refused" in table.stdout and "casework outbox retry ID" in table.stdout

    again = cli("outbox", "retry", str(dead))
    assert again.exit_code == 0, again.output
    assert f"notification {dead} is queued again" in again.stdout
    assert "next poll" in again.stdout  # no engine at TEMPORAL_ADDRESS to wake
    assert store.outbox.row(dead)["status"] == "pending"  # type: ignore[index]
    twice = cli("outbox", "retry", str(dead))
    assert twice.exit_code == 1 and "is pending, not failed" in twice.output
    unknown = cli("outbox", "retry", "999999")
    assert unknown.exit_code == 2 and "there is no notification 999999" in unknown.output
    assert "no failed notifications" in cli("outbox", "--failed").stdout


def test_webhooks_add_list_remove(operator_env: Path, store: Store) -> None:
    added = cli(
        "webhooks", "add", "https://hooks.example/cw", "--event", "breached", "--output", "json"
    )
    assert added.exit_code == 0, added.output
    hook = json.loads(added.stdout)
    assert hook["events"] == ["breached"] and hook["secret"].startswith("whsec_")
    assert store.webhooks.secret(hook["id"]) == hook["secret"]
    listed = cli("webhooks", "list", "--output", "json")
    assert [h["id"] for h in json.loads(listed.stdout)] == [hook["id"]]
    assert hook["secret"] not in listed.stdout  # shown once
    bad = cli("webhooks", "add", "ftp://x", "--event", "paged")
    assert bad.exit_code == 2
    assert "url: must be an http:// or https:// URL" in bad.output
    assert "unknown event 'paged'" in bad.output
    assert cli("webhooks", "remove", hook["id"]).exit_code == 0
    gone = cli("webhooks", "remove", hook["id"])
    assert gone.exit_code == 2 and "there is no webhook" in gone.output
    assert "no webhooks" in cli("webhooks", "list").stdout


async def mail_to_sink(
    folder: Path, key: str, subject: str, text: str, mail_from: str | None = None
) -> None:
    """One mail to Alice about case-000001, sent by the relay's SMTP code to the embedded sink
    (`casework up`'s), which keeps it under `folder`."""
    from casework.notify.sink import start_sink

    controller, port = start_sink(folder)
    try:
        message = Outgoing(
            key=key,
            subject=subject,
            text=text,
            case_id="case-000001",
            link=None,
            acknowledge=None,
            withheld=False,
        )
        relay = (
            RelayConfig(smtp_port=port)
            if mail_from is None
            else RelayConfig(smtp_port=port, mail_from=mail_from)
        )
        await send_mail(relay, "alice@acme.example", message)
    finally:
        controller.stop()


async def test_casework_mail_lists_what_the_sink_received(
    operator_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await mail_to_sink(operator_env / "mail", "k-1", "case-000001 opened", "We have your case")
    listed = cli("mail", "--output", "json")
    [mail] = json.loads(listed.stdout)
    assert (mail["to"], mail["subject"], mail["key"]) == (
        "alice@acme.example",
        "case-000001 opened",
        "k-1",
    )
    assert (operator_env / "mail" / mail["file"]).stat().st_mode & 0o077 == 0
    shown = cli("mail", "--show", mail["file"])
    assert "We have your case" in shown.stdout
    assert "case-000001 opened" in cli("mail").stdout


async def test_a_mail_carries_any_subject_and_text_intact_and_injects_no_header(
    tmp_path: Path,
) -> None:
    """The relay builds mails cheaply (compat32, issue 30) without giving anything up: a
    subject with a line break stays one header (never a Bcc of its own), names and text
    outside ASCII arrive as written, and a line longer than SMTP allows is wrapped for the
    wire and whole again when read."""
    from casework.notify.sink import received

    text = "Grüße aus Köln — the tunnel drops.\n" + "x" * 2_000 + "\nend\n"
    await mail_to_sink(
        tmp_path / "mail",
        "k-2",
        "case-000002: VPN drops\r\nBcc: mallory@evil.example",
        text,
        mail_from="Cäsework Desk <casework@vendor.example>",
    )
    [mail] = received(tmp_path / "mail")
    assert mail["subject"] == "case-000002: VPN drops Bcc: mallory@evil.example"
    assert mail["from"] == "Cäsework Desk <casework@vendor.example>"
    assert mail["text"].replace("\r\n", "\n") == text  # SMTP carries lines as CRLF
    raw = next((tmp_path / "mail").glob("*.eml")).read_bytes()
    assert b"\nBcc:" not in raw and max(len(line) for line in raw.splitlines()) <= 998


def test_a_bad_relay_configuration_names_the_variable() -> None:
    with pytest.raises(RelayConfigError) as refused:
        RelayConfig.from_env({"CASEWORK_SMTP_PORT": "smtp", "CASEWORK_SMTP_TLS": "yes"})
    message = str(refused.value)
    assert "CASEWORK_SMTP_PORT" in message and "CASEWORK_SMTP_TLS" in message
    assert RelayConfig.from_env({"CASEWORK_SMTP_TLS": "starttls"}).smtp_tls == "starttls"


async def test_the_doors_webhooks_are_for_the_deployments_operators(
    desk: Desk, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASEWORK_OPERATORS", "em-jon")
    operator, engineer = key_for(store, "em-jon"), key_for(store, "cc-dana")
    async with door(store, desk, tmp_path) as http:
        refused = await http.post(
            "/v1/webhooks", json={"url": "https://x.example"}, headers=bearer(engineer)
        )
        assert refused.status_code == 403 and "CASEWORK_OPERATORS" in refused.text
        bad = await http.post(
            "/v1/webhooks", json={"url": "x", "events": ["nope"]}, headers=bearer(operator)
        )
        assert bad.status_code == 422 and "unknown event 'nope'" in bad.text
        made = await http.post(
            "/v1/webhooks",
            json={"url": "https://x.example/hook", "events": ["opened", "closed"]},
            headers=bearer(operator),
        )
        assert made.status_code == 201, made.text
        hook = made.json()
        assert hook["secret"].startswith("whsec_") and hook["events"] == ["opened", "closed"]
        listed = await http.get("/v1/webhooks", headers=bearer(operator))
        assert [h["id"] for h in listed.json()] == [hook["id"]]
        assert hook["secret"] not in listed.text
        assert (await http.get("/v1/webhooks", headers=bearer(engineer))).status_code == 403
        gone = await http.delete(f"/v1/webhooks/{hook['id']}", headers=bearer(operator))
        assert gone.status_code == 200
        again = await http.delete(f"/v1/webhooks/{hook['id']}", headers=bearer(operator))
        assert again.status_code == 404


def test_a_worker_joining_casework_up_mails_through_its_sink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`casework up` leaves its relay's SMTP address (no secrets) in the state folder; a worker
    that joins it (`casework worker --join`) sends the same way, unless CASEWORK_SMTP_HOST
    says otherwise."""
    from casework.notify.config import for_joiner, save_for_joiners

    monkeypatch.delenv("CASEWORK_SMTP_HOST", raising=False)
    monkeypatch.setenv("CASEWORK_SMTP_PASSWORD", "from-the-joiners-env")
    save_for_joiners(tmp_path, RelayConfig(smtp_port=41233, smtp_password="engine-secret"))
    assert "engine-secret" not in (tmp_path / "relay.json").read_text()
    assert (tmp_path / "relay.json").stat().st_mode & 0o077 == 0
    joined = for_joiner(tmp_path)
    assert (joined.smtp_port, joined.smtp_password) == (41233, "from-the-joiners-env")
    monkeypatch.setenv("CASEWORK_SMTP_HOST", "smtp.example.com")
    assert for_joiner(tmp_path).smtp_host == "smtp.example.com"
    assert for_joiner(tmp_path).smtp_port == 8025
