"""The engine's key ring, for the operator (issues 10, 27): `casework keyring list | rotate |
init | export | import`.

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
    help="The engine's key ring: list key ids, rotate a purpose's key, make one before the "
    "engine runs (init), back it up (export) and restore it (import).",
    no_args_is_help=True,
)


def _ring_path(ctx: typer.Context):  # type: ignore[no-untyped-def]
    from casework.settings import environment

    settings = globals_of(ctx).settings()
    told = environment()
    if told.keyring is not None:
        fail(
            "the key ring comes from CASEWORK_KEYRING (a secret manager): rotate it there, "
            "then restart the door and the workers",
            BAD_INPUT,
        )
    return told.keyring_file or settings.state_dir / "keyring.json"


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


# --- issue 27: a ring made, backed up and restored without `casework up` ---------------------

MAX_RING_BYTES = 1_000_000
"""Bound on a ring to import (200 keys take about 40 KB)."""
TO_HELP = (
    "Where to write the ring: a file (made 0600), or - for standard output (a pipe to a "
    "secret manager)."
)


@commands.command("init")
def keyring_init(
    ctx: typer.Context,
    to: Annotated[str | None, typer.Option(help=TO_HELP + " Default: the ring's place.")] = None,
) -> None:
    """Make a new key ring (one key per purpose) before anything runs: at the ring's place
    (CASEWORK_KEYRING_FILE, else <state>/keyring.json) or where --to says. Refused where a ring
    exists: a ring encrypts cases, and a new one would make them unreadable."""
    from casework.identity.keyring import fresh_ring

    path = _ring_path(ctx) if to is None else None if to == "-" else _checked_target(to)
    if path is not None and path.exists():
        fail(
            f"there is a key ring at {path} already; a new one would leave every case it "
            "encrypted unreadable. Keep it (`casework keyring export --to FILE` backs it up), "
            "or choose another place with --to",
            BAD_INPUT,
        )
    ring = fresh_ring(str(path or "standard output"))
    _write(ring.to_json(), path)
    if path is not None:
        out().print(
            f"new key ring at {path} (mode 0600): {', '.join(k.id for k in ring.keys)}; give "
            "the same ring to every door and worker of the deployment",
            markup=False,
        )


@commands.command("export")
def keyring_export(
    ctx: typer.Context,
    to: Annotated[str, typer.Option(help=TO_HELP)],
) -> None:
    """Copy the deployment's key ring (CASEWORK_KEYRING, CASEWORK_KEYRING_FILE or
    <state>/keyring.json) for a backup: without it, a restored database's restricted rows,
    files and every history's payloads cannot be read. Keep the copy apart from the database
    backups, as a secret."""
    from casework.identity.keyring import KeyRingError, load_keyring

    settings = globals_of(ctx).settings()
    try:
        ring = load_keyring(settings.state_dir)
    except KeyRingError as e:
        fail(str(e), BAD_INPUT)
    path = None if to == "-" else _checked_target(to)
    if path is not None and path.exists():
        fail(f"{path} exists: export to a new file (nothing was written)", BAD_INPUT)
    _write(ring.to_json(), path)
    if path is not None:
        out().print(f"exported {len(ring.keys)} keys to {path} (mode 0600)", markup=False)


@commands.command("import")
def keyring_import(
    ctx: typer.Context,
    source: Annotated[
        str, typer.Argument(help="The exported ring: a file, or - for standard input.")
    ],
    merge: Annotated[
        bool,
        typer.Option(help="Keep the keys of the ring already there that the import lacks."),
    ] = False,
) -> None:
    """Restore a key ring (from `casework keyring export`) to the ring's place
    (CASEWORK_KEYRING_FILE, else <state>/keyring.json). Refused when the ring already there has
    keys the import lacks (it would make what they encrypted unreadable) unless --merge, and
    when one key id has two secrets."""
    import sys
    from pathlib import Path

    from casework.identity.keyring import KeyRing, KeyRingError

    if source == "-":
        text, where = sys.stdin.read(MAX_RING_BYTES), "standard input"
    else:
        file = Path(source)
        if not file.is_file():
            fail(f"there is no file {file} to import", BAD_INPUT)
        if file.stat().st_size > MAX_RING_BYTES:
            fail(f"{file} is larger than a key ring can be ({MAX_RING_BYTES} bytes)", BAD_INPUT)
        text, where = file.read_text(encoding="utf-8", errors="replace"), str(file)
    try:
        ring = KeyRing.from_json(text, where)
        for purpose in ("signing", "payload", "restricted"):
            ring.active(purpose)  # type: ignore[arg-type]
    except KeyRingError as e:
        fail(f"nothing imported: {e}", BAD_INPUT)
    path = _ring_path(ctx)
    if path.exists():
        try:
            ring = _joined(KeyRing.from_json(path.read_text(), str(path)), ring, merge)
        except KeyRingError as e:
            fail(f"nothing imported: {e}", BAD_INPUT)
    _write(ring.to_json(), path)
    out().print(
        f"imported {len(ring.keys)} keys to {path} (mode 0600); restart the door and the "
        "workers to load them",
        markup=False,
    )


def _joined(there, imported, merge: bool):  # type: ignore[no-untyped-def]
    """The ring to keep when one is already there (KeyRingError when it would lose keys)."""
    from casework.identity.keyring import KeyRing, KeyRingError

    theirs = {k.id: k for k in imported.keys}
    for key in there.keys:
        if key.id in theirs and theirs[key.id].secret != key.secret:
            raise KeyRingError(f"key {key.id} has another secret in the ring there")
    lacking = [k for k in there.keys if k.id not in theirs]
    if lacking and not merge:
        raise KeyRingError(
            f"the ring there has keys the import lacks ({', '.join(k.id for k in lacking)}): "
            "importing would make what they encrypted unreadable; add --merge to keep them"
        )
    return KeyRing((*imported.keys, *lacking), imported.source)


def _checked_target(name: str):  # type: ignore[no-untyped-def]
    from pathlib import Path

    path = Path(name)
    if path.is_dir():
        fail(f"{path} is a folder: name a file to write the ring to", BAD_INPUT)
    return path


def _write(text: str, path) -> None:  # type: ignore[no-untyped-def]
    """The ring's JSON to `path` (0600, in a folder made 0700), or to standard output."""
    import os

    from casework.identity.keyring import write_private

    if path is None:
        typer.echo(text)
        return
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    write_private(path, text)
    os.chmod(path, 0o600)
