"""What the engine sent and to whom: `casework outbox` (notifications, with U5's withholding)
and `casework referrals` (P2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from casework.cli.common import (
    Output,
    OutputOption,
    all_accounts,
    case_number,
    existing_store,
    out,
    print_json,
)

if TYPE_CHECKING:
    from casework.domain.directory import Account

commands = typer.Typer()

OUTBOX_WITHHELD = "[withheld]"


def withheld_notifications(
    rows: list[dict[str, Any]], flagged: list[Account], members: set[str], viewer: str
) -> set[int]:
    """U5: the outbox rows whose body `viewer` may not read.

    The outbox does not say which case is restricted; the directory does, through the people
    a case writes to. A case is restricted when any of its notifications goes to a contact of
    a US Citizen Support account; a case with contact notifications to other accounts only is
    not; for any other row (no case, or a case without contact notifications yet), one to a
    flagged account's contact or to a restricted-queue member is. A restricted row's body is
    shown only to the restricted queue's members and the contacts of that account."""
    account_of_contact = {c.id: a.id for a in flagged for c in a.contacts}
    contacts_of = {a.id: {c.id for c in a.contacts} for a in flagged}
    case_account: dict[str, str | None] = {}
    for r in rows:
        if r["recipient_kind"] != "contact" or not r["case_id"]:
            continue
        account = account_of_contact.get(r["recipient_id"])
        if account is not None or r["case_id"] not in case_account:
            case_account[r["case_id"]] = account or case_account.get(r["case_id"])
    hidden = set()
    for r in rows:
        if r["case_id"] in case_account:
            account = case_account[r["case_id"]]
            restricted = account is not None
        else:
            account = account_of_contact.get(r["recipient_id"])
            restricted = account is not None or (
                r["recipient_kind"] == "engineer" and r["recipient_id"] in members
            )
        if not restricted or viewer in members:
            continue
        if account is not None and viewer in contacts_of[account]:
            continue
        hidden.add(r["id"])
    return hidden


def withhold(rows: list[dict[str, Any]], hidden: set[int]) -> None:
    """U5: mark every row, and blank what a hidden one says and, to a customer, who it is for."""
    for r in rows:
        r["withheld"] = r["id"] in hidden
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
        rows = store.notifications(case_id)
        hidden = withheld_notifications(
            store.notifications() if case_id else rows,
            [a for a in all_accounts(store) if a.us_citizen_support],
            set(store.restricted_members()),
            viewer,
        )
    finally:
        store.dispose()
    withhold(rows, hidden)
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
        rows = store.referrals(account.strip() if account else None)
    finally:
        store.dispose()
    if output is Output.json:
        print_json(rows)
        return
    if not rows:
        out().print("no referrals" + (f" for {account}" if account else ""), markup=False)
        return
    out().print(render.referrals_table(rows))
