"""The SLA policy file (S5): `casework policy check`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from casework.cli.common import BAD_INPUT, fail, out

commands = typer.Typer(help="Check an SLA policy file (S5).", no_args_is_help=True)


@commands.command("check")
def policy_check(file: Annotated[Path, typer.Argument(help="SLA policy YAML.")]) -> None:
    """Validate an SLA policy file (S5) and show its first-response targets."""
    from casework.cli.render import policy_targets
    from casework.domain.durations import format_duration
    from casework.domain.sla import SlaPolicy
    from casework.yamlfiles import FileRefused, load_model

    try:
        policy = load_model(file, SlaPolicy)
    except FileRefused as e:
        fail(f"{e}\nThe policy was not used.", BAD_INPUT)
    out().print(f"{file}: valid; first-response targets (S1):", markup=False)
    out().print(policy_targets(policy))
    out().print(f"routing retry: {format_duration(policy.routing_retry)}", markup=False)
