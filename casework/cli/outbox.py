"""What the engine sent and to whom: `casework outbox` (notifications, with U5's withholding)
and `casework referrals` (P2)."""

from __future__ import annotations

from typing import Annotated

import typer

from casework.cli.common import (
    Output,
    OutputOption,
    case_number,
    existing_store,
    out,
    print_json,
)

commands = typer.Typer()


@commands.command()
def outbox(
    case: Annotated[str | None, typer.Option(help="Only this case's notifications.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many, newest.")] = 200,
    output: OutputOption = Output.text,
) -> None:
    """Notifications the engine sent to customers, engineers and Escalation Managers, as the
    credential's person may see them (through the casework API).

    A notification about a US Citizen Support case shows [withheld] for its body and, when it
    goes to the customer, for the contact and address, unless you are a restricted-queue
    member or a contact of that account (U5); each such read is audited."""
    from casework.cli import render
    from casework.cli.door_client import call

    case_id = case_number(case) if case else None
    rows = call("GET", "/v1/outbox", params={"case": case_id, "limit": limit})
    if output is Output.json:
        print_json(rows)
        return
    if not rows:
        out().print("no notifications" + (f" for {case_id}" if case_id else ""), markup=False)
        return
    out().print(render.outbox_table(rows))
    note = render.outbox_withheld_note(rows)
    if note:
        out().print(note, markup=False)


@commands.command()
def referrals(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option(help="Only this account's referrals.")] = None,
    output: OutputOption = Output.text,
) -> None:
    """P2: PAR customers who came to us directly and were referred to their partner."""
    from casework.cli import render

    store = existing_store(ctx)
    try:
        rows = store.intake.referrals(account.strip() if account else None)
    finally:
        store.dispose()
    if output is Output.json:
        print_json(rows)
        return
    if not rows:
        out().print("no referrals" + (f" for {account}" if account else ""), markup=False)
        return
    out().print(render.referrals_table(rows))
