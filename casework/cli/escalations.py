"""The customer's escalation and the Escalation Manager ladder (E3, E4): `escalate-now`,
`acknowledge`, `de-escalate`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from casework.cli.actions import act, checked, for_whom, send
from casework.cli.common import CaseArgument, ForOption, Output, OutputOption, case_number, out

commands = typer.Typer()


class EscalationReasonOption(StrEnum):
    lack_of_progress = "lack_of_progress"
    expertise = "expertise"
    business_impact = "business_impact"
    other = "other"


@commands.command("escalate-now")
def escalate_now(
    case: CaseArgument,
    reason: Annotated[EscalationReasonOption, typer.Option(help="Why the customer escalates.")],
    note: Annotated[str | None, typer.Option(help="In the customer's words.")] = None,
    priority: Annotated[
        str | None, typer.Option(help="Raise the priority with it: P1 or P2 (E4, S4).")
    ] = None,
    on_behalf_of: ForOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Escalate Now (E3): a contact escalates the case online, or a Customer Care (L0)
    engineer records a caller's escalation with --for; the answer names the escalation and the
    Escalation Manager who has it (with --output json: escalation_id, escalation_manager)."""
    payload = checked("escalate_now", reason=reason.value, note=note, priority=priority)
    result = send(case_number(case), "escalate_now", {**payload, **for_whom(on_behalf_of)}, output)
    if output is Output.text and result.escalation_id and result.escalation_manager:
        out().print(
            f"escalation {result.escalation_id}: with {result.escalation_manager}", markup=False
        )


@commands.command()
def acknowledge(
    case: CaseArgument,
    note: Annotated[str | None, typer.Option(help="A note for the feed.")] = None,
) -> None:
    """The Escalation Manager who has the escalation acknowledges it; it stays with them (E3)."""
    act(case, "acknowledge_escalation", note=note)


@commands.command("de-escalate")
def de_escalate(
    case: CaseArgument,
    note: Annotated[str | None, typer.Option(help="Why it ends.")] = None,
) -> None:
    """The Escalation Manager who has the escalation ends it (E3)."""
    act(case, "de_escalate", note=note)
