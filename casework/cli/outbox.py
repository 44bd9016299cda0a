"""What the engine sent and to whom: `casework outbox` (notifications, with U5's withholding)
and `casework referrals` (P2)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from casework.cli.common import (
    Output,
    OutputOption,
    case_number,
    existing_store,
    out,
    print_json,
)
from casework.domain.us_citizen import notification_withheld

commands = typer.Typer()

OUTBOX_WITHHELD = "[withheld]"


def withhold(
    rows: list[dict[str, Any]], viewer: str, members: set[str], contacts_of: dict[str, set[str]]
) -> None:
    """U5: mark every row by the case's own word (`restricted`, recorded when it was sent), and
    blank what a withheld one says and, to a customer, who it is for."""
    for r in rows:
        restricted, account_id = r.pop("restricted"), r.pop("account_id")
        r["withheld"] = notification_withheld(
            restricted, account_id, viewer, members, contacts_of.get(account_id or "", set())
        )
        if r["withheld"]:  # U5: what it says, and who the customer's contacts are
            r["body"] = OUTBOX_WITHHELD
            if r["recipient_kind"] == "contact":
                r["recipient_id"], r["address"] = "[contact]", OUTBOX_WITHHELD


@commands.command()
def outbox(
    ctx: typer.Context,
    case: Annotated[str | None, typer.Option(help="Only this case's notifications.")] = None,
    viewer: Annotated[
        str,
        typer.Option(
            "--as",
            help="Who is reading (U5): bodies about US Citizen Support cases are shown only to "
            "the restricted queue's members and the account's contacts.",
        ),
    ] = "operator",
    output: OutputOption = Output.text,
) -> None:
    """Notifications queued for customers, engineers and Escalation Managers.

    A notification about a US Citizen Support case shows [withheld] for its body and, when it
    goes to the customer, for the contact and address, unless --as names a restricted-queue
    member or a contact of that account (U5)."""
    from casework.cli import render

    case_id = case_number(case) if case else None
    store = existing_store(ctx)
    try:
        rows = store.outbox.rows(case_id)
        members = set(store.directory.restricted_members())
        contacts_of: dict[str, set[str]] = {}
        for account_id in {r["account_id"] for r in rows if r["restricted"] and r["account_id"]}:
            found = store.directory.account(account_id)
            contacts_of[account_id] = {c.id for c in found.contacts} if found else set()
    finally:
        store.dispose()
    withhold(rows, viewer, members, contacts_of)
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
