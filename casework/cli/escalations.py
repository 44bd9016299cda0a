"""The customer's escalation and the Escalation Manager ladder (E3, E4): `escalate-now`,
`acknowledge`, `de-escalate`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from casework.cli.actions import act, checked, send
from casework.cli.common import BAD_INPUT, CaseArgument, case_number, fail, out

commands = typer.Typer()


class EscalationReasonOption(StrEnum):
    lack_of_progress = "lack_of_progress"
    expertise = "expertise"
    business_impact = "business_impact"
    other = "other"


@commands.command("escalate-now")
def escalate_now(
    case: CaseArgument,
    actor: Annotated[str, typer.Option("--as", help="The contact of the account escalating.")],
    reason: Annotated[EscalationReasonOption, typer.Option(help="Why the customer escalates.")],
    note: Annotated[str | None, typer.Option(help="In the customer's words.")] = None,
    priority: Annotated[
        str | None, typer.Option(help="Raise the priority with it: P1 or P2 (E4, S4).")
    ] = None,
    by_phone: Annotated[
        bool, typer.Option("--by-phone", help="Customer Care records a phone escalation.")
    ] = False,
    recorded_by: Annotated[
        str | None,
        typer.Option(help="With --by-phone: the Customer Care (L0) engineer who took the call."),
    ] = None,
) -> None:
    """Escalate Now (E3): a contact escalates the case, online or by phone through Customer
    Care; the answer names the escalation and the Escalation Manager who has it."""
    if by_phone and recorded_by is None:
        fail(
            "escalate now not sent: --by-phone needs --recorded-by <Customer Care engineer>",
            BAD_INPUT,
        )
    if recorded_by is not None and not by_phone:
        fail("escalate now not sent: --recorded-by goes with --by-phone", BAD_INPUT)
    payload = checked(
        "escalate_now",
        actor=actor,
        reason=reason.value,
        note=note,
        priority=priority,
        channel="phone" if by_phone else "online",
        recorded_by=recorded_by,
    )
    result = send(case_number(case), "escalate_now", payload)
    if result.escalation_id and result.escalation_manager:
        out().print(
            f"escalation {result.escalation_id}: with {result.escalation_manager}", markup=False
        )


@commands.command()
def acknowledge(
    case: CaseArgument,
    actor: Annotated[str, typer.Option("--as", help="The Escalation Manager who has it.")],
    note: Annotated[str | None, typer.Option(help="A note for the feed.")] = None,
) -> None:
    """The Escalation Manager who has the escalation acknowledges it; it stays with them (E3)."""
    act(case, "acknowledge_escalation", actor=actor, note=note)


@commands.command("de-escalate")
def de_escalate(
    case: CaseArgument,
    actor: Annotated[str, typer.Option("--as", help="The Escalation Manager who has it.")],
    note: Annotated[str | None, typer.Option(help="Why it ends.")] = None,
) -> None:
    """The Escalation Manager who has the escalation ends it (E3)."""
    act(case, "de_escalate", actor=actor, note=note)
