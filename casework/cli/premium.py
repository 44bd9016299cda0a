"""Premium coverage (A3): `casework accept`, the account's premium expert takes a new case."""

from __future__ import annotations

import typer

from casework.cli.actions import send
from casework.cli.common import CaseArgument, case_number

commands = typer.Typer()


@commands.command("accept")
def accept_command(case: CaseArgument) -> None:
    """The account's premium expert (CSM-Lite, CSM, Resident Engineer) takes a new case offered
    to them, within the policy's `premium_accept_within` (A3)."""
    send(case_number(case), "accept", {})
