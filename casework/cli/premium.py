"""Premium coverage (A3): `casework accept`, the account's premium expert takes a new case
(declared from the catalogue)."""

from __future__ import annotations

import typer

from casework.cli.actions import declare

commands = typer.Typer()
declare(commands, "premium")
