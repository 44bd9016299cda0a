"""The operator's notification commands (issue 14): `casework webhooks add | list | remove`
(integrations' subscriptions to case events, on the engine's database like `casework keys`),
and `casework mail` (what the embedded SMTP sink of `casework up` received)."""

from __future__ import annotations

from typing import Annotated

import typer

from casework.cli.common import (
    BAD_INPUT,
    Output,
    OutputOption,
    existing_store,
    fail,
    globals_of,
    out,
    print_json,
)

commands = typer.Typer(
    help="Integrations' webhooks: subscribe a URL to case events (signed, retried).",
    no_args_is_help=True,
)
mail_commands = typer.Typer()


@commands.command("add")
def add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Where events are POSTed (http or https).")],
    event: Annotated[
        list[str] | None,
        typer.Option(
            help="An event to send: opened, responded, breached, escalated, resolved, closed "
            "(repeat it; default: all)."
        ),
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """Subscribe a URL to case events. Its signing secret is printed once: every delivery is
    signed the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature), which a
    Standard Webhooks library verifies with the secret; Casework-Signature comes too until
    2027-06-30."""
    from casework.notify.subscriptions import subscription

    try:
        asked = subscription(url, event or ["all"])
    except ValueError as e:
        fail(f"no webhook added: {e}", BAD_INPUT)
    store = existing_store(ctx)
    try:
        webhook_id, secret = store.webhooks.add(asked.url, asked.events, "operator")
    except ValueError as e:
        fail(f"no webhook added: {e}")
    finally:
        store.dispose()
    if output is Output.json:
        print_json({"id": webhook_id, "url": asked.url, "events": asked.events, "secret": secret})
        return
    out().print(
        f"webhook {webhook_id}: {asked.url} for {', '.join(asked.events)}\n"
        f"secret (shown once, keep it to verify signatures): {secret}",
        markup=False,
    )


@commands.command("list")
def list_(ctx: typer.Context, output: OutputOption = Output.text) -> None:
    """The subscriptions (never their secrets)."""
    from rich.table import Table

    store = existing_store(ctx)
    try:
        rows = store.webhooks.active()
    finally:
        store.dispose()
    if output is Output.json:
        print_json(rows)
        return
    if not rows:
        out().print("no webhooks (add one: casework webhooks add URL)", markup=False)
        return
    table = Table()
    for column in ("id", "url", "events", "created"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["id"], r["url"], ", ".join(r["events"]), r["created_at"].isoformat())
    out().print(table)


@commands.command("remove")
def remove(
    ctx: typer.Context, webhook_id: Annotated[str, typer.Argument(help="The webhook's id.")]
) -> None:
    """Stop sending events to a webhook (events queued already are still delivered)."""
    store = existing_store(ctx)
    try:
        removed = store.webhooks.remove(webhook_id.strip())
    finally:
        store.dispose()
    if not removed:
        fail(f"there is no webhook {webhook_id}: see casework webhooks list", BAD_INPUT)
    out().print(f"webhook {webhook_id} removed", markup=False)


@mail_commands.command()
def mail(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many, newest.")] = 50,
    show: Annotated[
        str | None, typer.Option(help="Print this mail whole (its file name, from the list).")
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """Mail the engine sent, as the local SMTP sink of `casework up` received it (kept in
    <state>/mail/). A deployment's relay sends to its real SMTP server instead."""
    from rich.table import Table

    from casework.notify.sink import MAIL_FOLDER, received

    folder = globals_of(ctx).settings().state_dir / MAIL_FOLDER
    mails = received(folder, limit if not show else 1_000)
    if show:
        found = next((m for m in mails if m["file"] == show), None)
        if found is None:
            fail(f"there is no mail {show} in {folder}: see casework mail", BAD_INPUT)
        if output is Output.json:
            print_json(found)
            return
        for header in ("date", "from", "to", "subject", "message_id"):
            out().print(f"{header}: {found[header]}", markup=False)
        out().print("\n" + found["text"], markup=False)
        return
    if output is Output.json:
        print_json(mails)
        return
    if not mails:
        out().print(f"no mail in {folder} (casework up keeps what its sink receives there)")
        return
    table = Table()
    for column in ("file", "date", "to", "subject"):
        table.add_column(column)
    for m in mails:
        table.add_row(m["file"], m["date"], m["to"], m["subject"])
    out().print(table)
