"""The door's credentials and its audit trail, for the operator (issue 10): `casework keys
create | list | expire | revoke` and `casework audit`. Like `casework directory`, they work on
the engine's database directly (`--state-dir`, `--db-url`): they are the operator's, not
people's, and need no running engine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from casework.cli.common import (
    BAD_INPUT,
    Output,
    OutputOption,
    existing_store,
    fail,
    out,
    print_json,
)

if TYPE_CHECKING:
    from rich.table import Table

commands = typer.Typer(
    help="API keys of the door: create (shown once), list, expire, revoke.",
    no_args_is_help=True,
)
audit_commands = typer.Typer()

MAX_LABEL = 200
KeyIdArgument = Annotated[str, typer.Argument(help="The key's id (the 12 hex digits after cw_).")]


@commands.command("create")
def keys_create(
    ctx: typer.Context,
    directory_id: Annotated[
        str, typer.Argument(help="Whose key: a contact, engineer or Escalation Manager id.")
    ],
    label: Annotated[str, typer.Option(help="What the key is for, e.g. a laptop.")] = "",
    expires_in: Annotated[
        str, typer.Option(help="How long it works: 90d, 12h, 30m, or never.")
    ] = "90d",
    output: OutputOption = Output.text,
) -> None:
    """Make an API key for a person of the directory. The key is printed once: the database
    keeps only its SHA-256, so a lost key is revoked and replaced, never recovered."""
    from casework.door.credentials import create_key, parse_expiry
    from casework.door.people import identify

    now = datetime.now(UTC)
    try:
        expires_at = parse_expiry(expires_in, now)
    except ValueError as e:
        fail(f"no key made: --expires-in: {e}", BAD_INPUT)
    if len(label) > MAX_LABEL:
        fail(f"no key made: --label is longer than {MAX_LABEL} characters", BAD_INPUT)
    store = existing_store(ctx)
    try:
        person = identify(store, directory_id.strip(), "api-key")
        if person is None:
            fail(
                f"no key made: {directory_id!r} is not in the directory (no contact, engineer, "
                "partner engineer, Escalation Manager or support director has that id); "
                "`casework directory accounts` lists them all",
                BAD_INPUT,
            )
        key = create_key(store, person.id, label=label.strip(), expires_at=expires_at, now=now)
    finally:
        store.dispose()
    if output is Output.json:
        print_json(
            {
                "id": key.key_id,
                "directory_id": person.id,
                "key": key.token,
                "expires_at": expires_at.isoformat() if expires_at else None,
            }
        )
        return
    until = f"until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "without expiry"
    out().print(
        f"key {key.key_id} for {person.id} ({person.name}), {until}:\n{key.token}\n"
        "It is shown this once: give it to its owner now (CASEWORK_API_KEY or a profile).",
        markup=False,
    )


@commands.command("list")
def keys_list(
    ctx: typer.Context,
    for_id: Annotated[str | None, typer.Option("--for", help="Only this person's keys.")] = None,
    output: OutputOption = Output.text,
) -> None:
    """The keys, oldest first, with whose they are and whether they still work (never the
    secret: it is not kept)."""
    store = existing_store(ctx)
    try:
        rows = store.api_keys.list(for_id.strip() if for_id else None)
    finally:
        store.dispose()
    now = datetime.now(UTC)
    listed = [_listed(r, now) for r in rows]
    if output is Output.json:
        print_json(listed)
        return
    if not listed:
        out().print("no API keys" + (f" for {for_id}" if for_id else ""), markup=False)
        return
    out().print(keys_table(listed))


def _listed(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    if row["revoked_at"] is not None:
        status = "revoked"
    elif row["expires_at"] is not None and row["expires_at"] <= now:
        status = "expired"
    else:
        status = "active"
    fields = ("id", "directory_id", "label", "created_at", "created_by", "expires_at")
    return {
        **{k: row[k] for k in fields},
        "revoked_at": row["revoked_at"],
        "last_used_at": row["last_used_at"],
        "status": status,
    }


def _change(ctx: typer.Context, key_id: str, what: str) -> None:
    store = existing_store(ctx)
    now = datetime.now(UTC)
    try:
        row = store.api_keys.get(key_id.strip().removeprefix("cw_"))
        if row is None:
            fail(f"there is no API key {key_id!r}: see `casework keys list`", BAD_INPUT)
        if what == "revoked":
            store.api_keys.revoke(row["id"], now)
        else:
            store.api_keys.expire(row["id"], now)
    finally:
        store.dispose()
    out().print(
        f"key {row['id']} of {row['directory_id']} {what}: the door refuses it from now on",
        markup=False,
    )


@commands.command("expire")
def keys_expire(ctx: typer.Context, key_id: KeyIdArgument) -> None:
    """End a key now, as if its time had run out (its owner is told it expired)."""
    _change(ctx, key_id, "expired")


@commands.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: KeyIdArgument) -> None:
    """Revoke a key: lost, leaked or its owner gone. The door refuses it at once."""
    _change(ctx, key_id, "revoked")


@audit_commands.command("audit")
def audit(
    ctx: typer.Context,
    case: Annotated[str | None, typer.Option(help="Only reads of this case.")] = None,
    who: Annotated[str | None, typer.Option(help="Only reads by this person.")] = None,
    refused: Annotated[bool, typer.Option("--refused", help="Only refused reads.")] = False,
    limit: Annotated[
        int, typer.Option(min=1, max=1000, help="At most this many, newest first.")
    ] = 100,
    output: OutputOption = Output.text,
) -> None:
    """U5: every read of a restricted case's content, granted or refused, from any path (the
    door's API, the codec server, the operator's commands), newest first."""
    from casework.client import CaseworkError, check_case_id

    case_id = None
    if case is not None:
        try:
            case_id = check_case_id(case)
        except CaseworkError as e:
            fail(str(e), BAD_INPUT)
    store = existing_store(ctx)
    try:
        principal = who.strip() if who else None
        rows = store.audit.list(
            case_id=case_id, principal=principal, refused_only=refused, limit=limit
        )
    finally:
        store.dispose()
    if output is Output.json:
        print_json(rows)
        return
    if not rows:
        out().print("no reads of restricted content recorded", markup=False)
        return
    out().print(audit_table(rows))


def keys_table(rows: list[dict[str, Any]]) -> Table:
    from rich.table import Table
    from rich.text import Text

    from casework.cli.render import when

    table = Table()
    for column in ("id", "for", "label", "status", "created", "expires", "last used"):
        table.add_column(column, no_wrap=column in ("id", "created", "expires", "last used"))
    for r in rows:
        table.add_row(
            r["id"],
            Text(r["directory_id"]),
            Text(r["label"] or "-"),
            Text(r["status"], style="" if r["status"] == "active" else "red"),
            when(r["created_at"]),
            when(r["expires_at"]) if r["expires_at"] else "never",
            when(r["last_used_at"]),
        )
    return table


def audit_table(rows: list[dict[str, Any]]) -> Table:
    from rich.table import Table
    from rich.text import Text

    from casework.cli.render import when

    table = Table()
    for column in ("time", "who", "path", "what", "case", "account", "granted", "reason"):
        table.add_column(column, no_wrap=column in ("time", "case"))
    for r in rows:
        who = r["principal"] + (f" for {r['on_behalf_of']}" if r["on_behalf_of"] else "")
        table.add_row(
            when(r["at"]),
            Text(who),
            r["path"],
            r["action"],
            Text(r["case_id"] or "-"),
            Text(r["account_id"] or "-"),
            Text("yes" if r["granted"] else "refused", style="" if r["granted"] else "red"),
            Text(r["reason"] or ""),
        )
    return table
