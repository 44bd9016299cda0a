"""The directory: `casework directory check`, `load`, `accounts`, `engineers`."""

from __future__ import annotations

from pathlib import Path
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
    from casework.domain.directory import Directory
    from casework.settings import Settings

commands = typer.Typer(
    help="Check or load the directory (accounts, contacts, products, engineers, rota).",
    no_args_is_help=True,
)

DirectoryFile = Annotated[Path, typer.Argument(help="Directory YAML.")]


def checked_directory(file: Path, settings: Settings) -> Directory:
    """The directory file, checked against the engine's SLA policy (its tiers: A1, A3)."""
    from casework.engine import load_directory, load_policy
    from casework.yamlfiles import FileRefused

    try:
        return load_directory(file, load_policy(settings))
    except FileRefused as e:
        fail(f"{e}\nThe directory was not loaded.", BAD_INPUT)


@commands.command("check")
def directory_check(ctx: typer.Context, file: DirectoryFile) -> None:
    """Validate a directory file, against the engine's SLA policy (--policy, CASEWORK_POLICY,
    or the one the state folder's engine runs); every problem is shown as file:line: path:
    reason."""
    from casework.cli.render import directory_summary

    directory = checked_directory(file, globals_of(ctx).placement().settings)
    out().print(f"{file}: valid: {directory_summary(directory)}", markup=False)


@commands.command("load")
def directory_load(ctx: typer.Context, file: DirectoryFile) -> None:
    """Validate a directory file (against the engine's SLA policy), then replace the directory
    in the casework database.

    The running worker uses it for the next intake and routing; open cases keep their owner."""
    from casework.cli.render import directory_summary
    from casework.redact import masked_url
    from casework.store import Store

    settings = globals_of(ctx).placement().settings  # the state folder's engine's database
    directory = checked_directory(file, settings)
    settings.ensure_state_dir()
    store = Store(settings.db_url)
    try:
        store.directory.replace(directory)
    finally:
        store.dispose()
    out().print(
        f"loaded {file} into {masked_url(settings.db_url)}: {directory_summary(directory)}",
        markup=False,
    )


@commands.command("accounts")
def directory_accounts(ctx: typer.Context) -> None:
    """Who is in the loaded directory: the accounts (tier, premium offering and expert,
    direct or through which partner, contacts), the partners, the engineers, the escalation
    ladder (Escalation Managers and support director) and the products."""
    from casework.cli import render

    store = existing_store(ctx)
    try:
        found = store.directory.accounts()
        partners = store.directory.partners()
        engineers = store.directory.engineers()
        rota = store.directory.rota()
        director = store.directory.support_director()
        products = store.directory.product_names()
    finally:
        store.dispose()
    out().print(render.accounts_table(found))
    out().print(render.partners_table(partners))
    out().print(render.engineers_brief(engineers))
    out().print(render.rota_table(rota, director))
    out().print(f"products: {', '.join(products)}", markup=False)


@commands.command("engineers")
def directory_engineers(ctx: typer.Context, output: OutputOption = Output.text) -> None:
    """The engineers in the loaded directory: level, skills, location, and whether they are
    members of the US citizen restricted queue, or why not (U2, U7)."""
    from casework.cli import render
    from casework.domain.us_citizen import restricted_member_refusal

    store = existing_store(ctx)
    try:
        engineers = store.directory.engineers()
        locations = store.directory.authorised_locations()
    finally:
        store.dispose()
    refusals = [restricted_member_refusal(e, locations) for e in engineers]
    if output is Output.json:
        rows = [
            {
                "id": e.id,
                "name": e.name,
                "level": e.level.value,
                "skills": e.skills,
                "work_location": e.work_location,
                "citizenship": e.citizenship.model_dump(mode="json") if e.citizenship else None,
                "restricted_queue_only": e.restricted_queue_only,
                "restricted_member": refusal is None,
                "not_a_member_because": refusal,
            }
            for e, refusal in zip(engineers, refusals, strict=True)
        ]
        print_json({"authorised_locations": locations, "engineers": rows})
        return
    out().print(render.engineers_table(engineers, refusals))
    out().print(
        f"authorised locations (U7): {', '.join(locations) or 'none'}",
        markup=False,
    )
