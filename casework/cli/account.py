"""Accounts (U1): `casework account show` and `casework account us-citizen`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from casework.domain.directory import Account
    from casework.domain.tiers import TierRules

commands = typer.Typer(
    help="Look at an account, or change its US Citizen Support flag (U1).", no_args_is_help=True
)

AccountArgument = Annotated[str, typer.Argument(help="Account id, e.g. cyberdyne.")]


def print_account(account: Account, output: Output) -> None:
    from casework.cli.render import account_lines, label_grid

    if output is Output.json:
        print_json(account)
        return
    out().print(label_grid(account_lines(account)))


@commands.command("show")
def account_show(
    ctx: typer.Context, account: AccountArgument, output: OutputOption = Output.text
) -> None:
    """An account: tier, users, US Citizen Support and its zone, contacts and approvers."""
    store = existing_store(ctx)
    try:
        found = store.directory.account(account.strip())
    finally:
        store.dispose()
    if found is None:
        fail(f"unknown account {account!r}: `casework directory accounts` lists them", BAD_INPUT)
    print_account(found, output)


@commands.command("us-citizen")
def account_us_citizen(
    ctx: typer.Context,
    account: AccountArgument,
    on: Annotated[
        bool,
        typer.Option(
            "--on/--off", help="Flag the account as having US Citizen Support, or unflag it."
        ),
    ],
    zone: Annotated[
        str | None,
        typer.Option(
            help="The customer's zone for business hours (U4): eastern, pacific or an IANA name."
        ),
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """U1: flag an account as having bought US Citizen Support (Platinum only, A3), or unflag it.

    New cases of a flagged account go to the restricted queue in the account's business hours;
    open cases keep the entitlement they were opened with. A refusal changes nothing (exit 2).
    The change is in the database: `casework directory load` (or `casework up --directory`)
    replaces it with what the file says."""
    from pydantic import ValidationError as Invalid

    tiers = _tiers_sold(ctx)
    store = existing_store(ctx)
    try:
        try:
            updated = store.directory.set_us_citizen_support(account.strip(), on, zone, tiers)
        except Invalid as e:
            reasons = "; ".join(err["msg"].removeprefix("Value error, ") for err in e.errors())
            fail(f"account {account} not changed: {reasons}", BAD_INPUT)
        except ValueError as e:
            fail(f"account not changed: {e}: `casework directory accounts` lists them", BAD_INPUT)
        members = store.directory.restricted_members() if on else []
    finally:
        store.dispose()
    if output is Output.json:
        print_json(updated)
        return
    if on:
        out().print(
            f"{updated.id}: US Citizen Support on, business hours in {updated.zone}; new cases "
            "go to the restricted queue (U2); open cases keep the entitlement they were "
            "opened with",
            markup=False,
        )
        if not any(c.approver for c in updated.contacts):
            out().print(
                f"note: no contact of {updated.id} is a log approver, so no request to share "
                "logs with engineering can be answered (U6): set `approver: true` on a contact "
                "in the directory file and load it",
                markup=False,
            )
        if not members:
            out().print(
                "note: the restricted queue has no members (U2, U7): its cases wait in the "
                "queue; see `casework directory engineers`",
                markup=False,
            )
    else:
        out().print(
            f"{updated.id}: US Citizen Support off; new cases go to the Global Support Center "
            "queues, 24x7; open cases keep the entitlement they were opened with",
            markup=False,
        )
    print_account(updated, Output.text)


def _tiers_sold(ctx: typer.Context) -> TierRules:
    """A3: what the engine's SLA policy lets each tier buy (the default policy's: Platinum)."""
    from casework.engine import load_policy
    from casework.yamlfiles import FileRefused

    try:
        return load_policy(globals_of(ctx).placement().settings).tier_rules()
    except FileRefused as e:
        fail(f"{e}\nThe account was not changed.", BAD_INPUT)
