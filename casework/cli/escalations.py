"""The customer's escalation and the Escalation Manager ladder (E3, E4): `escalate-now`
(declared here: its answer names the escalation), `acknowledge` and `de-escalate` (declared
from the catalogue)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from casework.cli.actions import checked, declare, for_whom, option_help, send
from casework.cli.common import CaseArgument, ForOption, Output, OutputOption, case_number, out
from casework.domain.catalogue import ACTIONS

commands = typer.Typer()
NOW = ACTIONS["escalate_now"]


class EscalationReasonOption(StrEnum):
    lack_of_progress = "lack_of_progress"
    expertise = "expertise"
    business_impact = "business_impact"
    other = "other"


@commands.command(NOW.command.name, help=NOW.command.help)
def escalate_now(
    case: CaseArgument,
    reason: Annotated[EscalationReasonOption, typer.Option(help=option_help(NOW.name, "reason"))],
    note: Annotated[str | None, typer.Option(help=option_help(NOW.name, "note"))] = None,
    priority: Annotated[str | None, typer.Option(help=option_help(NOW.name, "priority"))] = None,
    on_behalf_of: ForOption = None,
    output: OutputOption = Output.text,
) -> None:
    payload = checked(NOW.name, reason=reason.value, note=note, priority=priority)
    result = send(case_number(case), NOW.name, {**payload, **for_whom(on_behalf_of)}, output)
    if output is Output.text and result.escalation_id and result.escalation_manager:
        out().print(
            f"escalation {result.escalation_id}: with {result.escalation_manager}", markup=False
        )


declare(commands, "escalations")
