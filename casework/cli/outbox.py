"""What the engine sent and to whom: `casework outbox` (notifications, with U5's withholding;
`--failed` and `retry` for the relay's dead letters, issue 14) and `casework referrals` (P2)."""

from __future__ import annotations

from typing import Annotated

import typer

from casework.cli.common import (
    Output,
    OutputOption,
    case_number,
    existing_store,
    globals_of,
    out,
    print_json,
)

WAKE_TIMEOUT = 10.0
"""Seconds `outbox retry` tries to wake the relay before leaving it to the relay's poll."""
commands = typer.Typer()
outbox_commands = typer.Typer(invoke_without_command=True)


@outbox_commands.callback()
def outbox(
    ctx: typer.Context,
    case: Annotated[str | None, typer.Option(help="Only this case's notifications.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many, newest.")] = 200,
    failed: Annotated[
        bool,
        typer.Option(
            "--failed",
            help="The operator's view of the dead letters: notifications the relay gave up on "
            "(read from the engine's database; send one again with `casework outbox retry ID`).",
        ),
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """Notifications the engine sent to customers, engineers and Escalation Managers, as the
    credential's person may see them (through the casework API), with how their delivery went.

    A notification about a US Citizen Support case shows [withheld] for its body and, when it
    goes to the customer, for the contact and address, unless you are a restricted-queue
    member or a contact of that account (U5); each such read is audited."""
    if ctx.invoked_subcommand is not None:
        return
    if failed:
        _failed(ctx, case, limit, output)
        return
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


def _failed(ctx: typer.Context, case: str | None, limit: int, output: Output) -> None:
    """The dead letters, as the operator may see them (U5: no restricted body)."""
    from casework.cli import render
    from casework.domain.us_citizen import withhold_outbox

    case_id = case_number(case) if case else None
    store = existing_store(ctx)
    try:
        rows = [r for r in store.outbox.failed(limit) if not case_id or r["case_id"] == case_id]
        members = set(store.directory.restricted_members())
        contacts_of: dict[str, set[str]] = {}
        for account_id in {r["account_id"] for r in rows if r["account_id"]}:
            found = store.directory.account(account_id)
            contacts_of[account_id] = {c.id for c in found.contacts} if found else set()
    finally:
        store.dispose()
    withhold_outbox(rows, "operator", members, contacts_of)
    if output is Output.json:
        print_json(rows)
        return
    if not rows:
        out().print("no failed notifications" + (f" for {case_id}" if case_id else ""))
        return
    out().print(render.failed_table(rows))
    out().print("send one again: casework outbox retry ID", markup=False)


@outbox_commands.command("retry")
def retry(
    ctx: typer.Context,
    row_id: Annotated[
        int, typer.Argument(help="The notification's id (casework outbox --failed).")
    ],
) -> None:
    """Send a dead-lettered notification again (issue 14): it is pending again, its attempts
    start afresh, channels that took it already are not sent to twice, and the relay is woken."""
    from casework.cli.common import BAD_INPUT, connect, fail, run
    from casework.notify.waker import RelayWaker

    store = existing_store(ctx)
    try:
        found = store.outbox.row(row_id)
        if found is None:
            fail(f"there is no notification {row_id}: see casework outbox --failed", BAD_INPUT)
        if not store.outbox.retry(row_id):
            fail(
                f"notification {row_id} is {found['status']}, not failed: only a dead letter "
                "(casework outbox --failed) is sent again"
            )
    finally:
        store.dispose()
    settings = globals_of(ctx).placement().settings

    async def wake() -> str | None:
        import asyncio

        try:
            client = await asyncio.wait_for(connect(settings), WAKE_TIMEOUT)
            waker = RelayWaker(client, settings.task_queue, asyncio.get_running_loop())
            await asyncio.wait_for(waker.wake_now(quiet=False), WAKE_TIMEOUT)
        except Exception as e:  # queued all the same: the relay's poll finds it
            return str(e) or type(e).__name__
        return None

    trouble = run(wake())
    if trouble:
        out().print(
            f"notification {row_id} is queued again; the relay was not woken ({trouble}), so "
            "it goes out at the relay's next poll, or when a worker starts",
            markup=False,
        )
        return
    out().print(f"notification {row_id} is queued again; the relay sends it now", markup=False)
