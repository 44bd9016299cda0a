"""The engine's key ring, for the operator (issue 10): `casework keyring list | rotate`.

The ring holds the keys that sign the door's tokens and encrypt what Temporal keeps
(`casework.identity.keyring`). Rotating adds a new active key for one purpose; the old ones stay
to decrypt old histories, files and rows and to verify old tokens. Every process of the
deployment (door, workers) must load the ring again: restart them after a rotation.
"""

from __future__ import annotations

from typing import Annotated

import typer

from casework.cli.common import BAD_INPUT, Output, OutputOption, fail, globals_of, out, print_json

commands = typer.Typer(
    help="The engine's key ring: list key ids, rotate a purpose's key.", no_args_is_help=True
)


def _ring_path(ctx: typer.Context):  # type: ignore[no-untyped-def]
    import os
    from pathlib import Path

    settings = globals_of(ctx).settings()
    if os.environ.get("CASEWORK_KEYRING"):
        fail(
            "the key ring comes from CASEWORK_KEYRING (a secret manager): rotate it there, "
            "then restart the door and the workers",
            BAD_INPUT,
        )
    file = os.environ.get("CASEWORK_KEYRING_FILE")
    return Path(file) if file else settings.state_dir / "keyring.json"


@commands.command("list")
def keyring_list(ctx: typer.Context, output: OutputOption = Output.text) -> None:
    """The ring's keys: id, purpose, when made, which is active. Never the secrets."""
    from casework.identity.keyring import PURPOSES, KeyRing, KeyRingError

    path = _ring_path(ctx)
    if not path.exists():
        fail(f"there is no key ring at {path}: `casework up` makes one on first run", BAD_INPUT)
    try:
        ring = KeyRing.from_json(path.read_text(), str(path))
    except KeyRingError as e:
        fail(str(e), BAD_INPUT)
    active = {ring.active(p).id for p in PURPOSES if any(k.purpose == p for k in ring.keys)}
    rows = [
        {
            "id": k.id,
            "purpose": k.purpose,
            "created": k.created.isoformat(timespec="seconds"),
            "active": k.id in active,
        }
        for k in ring.keys
    ]
    if output is Output.json:
        print_json(rows)
        return
    for row in rows:
        mark = "active" if row["active"] else "old (decrypts and verifies only)"
        out().print(f"{row['id']}  {row['purpose']:<10}  {row['created']}  {mark}", markup=False)


@commands.command("rotate")
def keyring_rotate(
    ctx: typer.Context,
    purpose: Annotated[str, typer.Argument(help="payload, restricted or signing.")],
) -> None:
    """Add a new active key for PURPOSE; old keys stay, so old cases stay readable. Restart
    the door and the workers afterwards so they load it."""
    from casework.identity.keyring import PURPOSES, KeyRing, KeyRingError, save_keyring

    if purpose not in PURPOSES:
        fail(f"unknown purpose {purpose!r}; use one of: {', '.join(PURPOSES)}", BAD_INPUT)
    path = _ring_path(ctx)
    if not path.exists():
        fail(f"there is no key ring at {path}: `casework up` makes one on first run", BAD_INPUT)
    try:
        ring = KeyRing.from_json(path.read_text(), str(path)).rotated(purpose)  # type: ignore[arg-type]
    except KeyRingError as e:
        fail(str(e), BAD_INPUT)
    save_keyring(ring, path)
    out().print(
        f"new active {purpose} key {ring.active(purpose).id} in {path} (mode 0600); restart "  # type: ignore[arg-type]
        "the door and the workers to use it",
        markup=False,
    )
