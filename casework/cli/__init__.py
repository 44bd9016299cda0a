"""`casework`: run the engine and work cases from a terminal.

The people-facing commands (open, show, list, every action, whoami) are clients of the door,
the casework API (`casework.door`): they authenticate with a key from a profile or the
environment (`door_client`) and never reach Temporal themselves. The operator's commands
(up, worker, keys, audit, directory, policy, account, outbox, report, versions) work on the
state folder and Temporal directly, through `casework.client`. A command fetches, hands what
it got to a pure function of `render` / `render_case`, and prints.

One module per command group; `common` holds what they share. So that `casework --help`
answers quickly, a group module imports only typer and `common` at its top: Temporal, the
store, the domain models and the renderers are imported by the commands that use them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from casework.cli import (
    account,
    actions,
    cases,
    engine,
    escalations,
    files,
    keys,
    outbox,
    premium,
    report,
    simulate,
    versions,
    webhooks,
)
from casework.cli import directory as directory_group
from casework.cli import keyring as keyring_group
from casework.cli import policy as policy_group
from casework.cli.common import BAD_INPUT, Globals, fail, set_globals, temporal_used


class Casework(typer.Typer):
    """The console script. temporalio's native threads can abort the interpreter's teardown
    after a client call (sdk-python#300, "PyGILState_Release ... finalizing"): once the
    command is done and its output flushed, a process that used Temporal exits at once."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except SystemExit as e:
            if not temporal_used():
                raise
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)


app = Casework(
    name="casework",
    help="Support cases on Temporal: run the engine, open and work cases, check files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def main(
    ctx: typer.Context,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the engine's state (temporal.db, casework.db). Default: "
            "CASEWORK_STATE_DIR, else .state",
        ),
    ] = None,
    db_url: Annotated[
        str | None,
        typer.Option(
            help="Casework database URL. Default: CASEWORK_DB_URL, else "
            "sqlite:///<state-dir>/casework.db",
        ),
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            help="Directory YAML loaded at start. Default: CASEWORK_DIRECTORY, else the demo "
            "directory on first run",
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(help="SLA policy YAML (S5). Default: CASEWORK_POLICY, else the S1 table"),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="Who you are: a profile of ~/.config/casework/profiles.toml or "
            "<state-dir>/profiles.toml. Default: CASEWORK_PROFILE, else CASEWORK_API_KEY, else "
            "the files' default",
        ),
    ] = None,
) -> None:
    """Support cases on Temporal. TEMPORAL_ADDRESS etc. say where Temporal is (default
    localhost:7233); CASEWORK_TASK_QUEUE names the worker's task queue (default casework).
    Every CASEWORK_* variable is checked first: a bad one stops the command (exit 2) saying
    what to write (docs/configuration.md)."""
    from casework.settings import SettingsRefused, environment

    try:
        env = environment()
    except SettingsRefused as e:
        fail(str(e), BAD_INPUT)
    ctx.obj = Globals(
        state_dir=state_dir or env.state_dir,
        db_url=db_url or env.db_url,
        directory=directory or env.directory,
        policy=policy or env.policy,
        profile=profile or env.profile,
    )
    set_globals(ctx.obj)


# The commands, in the order `casework --help` lists them; then the sub-command groups.
for group in (engine, cases, actions, escalations, files, outbox, report, premium, simulate):
    app.add_typer(group.commands)
app.add_typer(directory_group.commands, name="directory")
app.add_typer(policy_group.commands, name="policy")
app.add_typer(account.commands, name="account")
app.add_typer(keys.commands, name="keys")
app.add_typer(keyring_group.commands, name="keyring")
app.add_typer(keys.audit_commands)
app.add_typer(outbox.outbox_commands, name="outbox")  # issue 14: --failed, retry
app.add_typer(webhooks.commands, name="webhooks")
app.add_typer(webhooks.mail_commands)
app.add_typer(versions.commands, name="versions")  # issue 28: worker versioning

__all__ = ["app"]
