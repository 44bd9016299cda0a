"""A refusal that sends the user to a command names one that shows what it promises (issue 11):
each hint's command is run against the same directory, and what the refusal says it lists
must be in its output."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from typer.testing import CliRunner

from activities import DirectoryActivities
from casework.cli import app
from casework.domain.directory import Directory, Partner
from casework.domain.sla import DEFAULT_POLICY
from casework.store import Store
from tests.conftest import ENGINE_RING, activity_env_at, case_request

HINT = re.compile(r"`(casework [^`<]+)`")


def hinted_output(store: Store, message: str) -> str:
    """Run every `casework ...` command the message names, against `store`; their output."""
    commands = HINT.findall(message)
    assert commands, f"the refusal names no command: {message}"
    shown = []
    for command in commands:
        args = shlex.split(command)[1:]
        result = CliRunner().invoke(app, ["--db-url", store.url, *args])
        assert result.exit_code == 0, f"`{command}` failed: {result.output}"
        shown.append(result.output)
    return "\n".join(shown)


def intake_refusal(store: Store, **fields: str) -> str:
    environment: ActivityEnvironment = activity_env_at(datetime.now(UTC))
    with pytest.raises(ApplicationError) as refused:
        environment.run(DirectoryActivities(store, DEFAULT_POLICY).intake, case_request(**fields))
    return str(refused.value)


def test_an_unknown_partners_hint_lists_the_partners(store: Store, directory: Directory) -> None:
    """P1/P4: "the directory's partners are listed by ..." names a command that lists every
    partner of the directory, validated or not."""
    directory.partners.append(Partner(id="shady-it", name="Shady IT", email="x@shady.example"))
    store.directory.replace(directory)
    message = intake_refusal(
        store,
        channel="partner",
        partner_id="nobody",
        account_id="soylent",
        contact_id="soylent-sam",
    )
    assert "unknown partner 'nobody'" in message
    shown = hinted_output(store, message)
    for partner in directory.partners:
        assert partner.id in shown, f"{partner.id} not listed by the hint's command:\n{shown}"


def test_an_unknown_accounts_hint_lists_the_accounts(store: Store, directory: Directory) -> None:
    message = intake_refusal(store, account_id="initech")
    shown = hinted_output(store, message)
    for account in directory.accounts:
        assert account.id in shown


def test_a_key_for_nobody_names_commands_that_list_everyone_who_may_have_one(
    store: Store, directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`casework keys create` for an id the directory does not know: the commands it names
    list every person who may hold a key (contacts, engineers, partner engineers, Escalation
    Managers, the support director)."""
    monkeypatch.setenv("CASEWORK_KEYRING", ENGINE_RING.to_json())
    refused = CliRunner().invoke(app, ["--db-url", store.url, "keys", "create", "nobody"])
    assert refused.exit_code == 2, refused.output
    shown = hinted_output(store, refused.output.replace("\n", " "))
    people = [c.id for a in directory.accounts for c in a.contacts]
    people += [e.id for e in directory.engineers]
    people += [m.id for m in directory.escalation_managers]
    if directory.support_director is not None:
        people.append(directory.support_director.id)
    missing = [p for p in people if p not in shown]
    assert not missing, f"not listed by the hint's commands: {missing}"
