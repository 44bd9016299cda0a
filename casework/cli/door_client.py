"""The people-facing commands' way in: a small HTTP client of the door (`casework.door`).

Who is asking comes from a credential, found the way `gh` and `kubectl` users expect, first
match wins:

1. a named profile: `casework --profile NAME ...` or `CASEWORK_PROFILE=NAME`;
2. a key in the environment: `CASEWORK_API_KEY` (the door at `CASEWORK_URL`);
3. the `default` profile of a profiles file.

Profiles files are read in this order; a name found in the first is not looked up in the
second: the user's own, `$XDG_CONFIG_HOME/casework/profiles.toml` (default
`~/.config/casework/profiles.toml`), then the engine's, `<state dir>/profiles.toml`, where
`casework up` writes a key for each person of the demo directory:

    default = "acme-alice"          # optional: the profile used when none is named
    [profiles.acme-alice]
    url = "http://127.0.0.1:8234"   # optional: CASEWORK_URL, else the local door
    key = "cw_..."

A profile's url wins over CASEWORK_URL, which is only the default for profiles without one and
for CASEWORK_API_KEY. Anything wrong with the credential or the door ends the command with one
paragraph saying what and how to fix it: bad local configuration and bad input (400) exit 2,
everything else (no credential, 401, 403, 404, 409, 503, an unreachable door) exits 1.

The client is the standard library's `http.client`, imported when a request is made, so
`casework --help` and every command stay fast.
"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casework.cli.common import ANSWER_TIMEOUT, BAD_INPUT, REFUSED, fail, globals_of
from casework.settings import environment

if TYPE_CHECKING:
    import typer

DEFAULT_URL = "http://127.0.0.1:8234"
"""Where `casework up` starts the door."""

CONNECT_TIMEOUT = 5.0
"""Seconds to open a connection to the door: it runs next door or not at all."""
UPLOAD_CHUNK = 1 << 20
"""Bytes of a file sent at a time."""

REQUEST_TIMEOUT = ANSWER_TIMEOUT + 15.0
"""Seconds to wait for the door's answer: longer than the door waits for the case to answer
(it then says 503 with what hung), so the user hears its reason rather than ours."""

PROFILES_FILE = "profiles.toml"
KEY_HOWTO = (
    "an operator makes a key with `casework keys create <your directory id>`; put it in a "
    "profile of ~/.config/casework/profiles.toml ([profiles.NAME] url = ..., key = ...) or in "
    "CASEWORK_API_KEY"
)


class DoorProblem(Exception):
    """What went wrong reaching or asking the door, and the exit code it deserves."""

    def __init__(self, message: str, code: int = REFUSED, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Credential:
    """A key and the door it opens, and where they came from (for whoami and refusals)."""

    url: str
    key: str
    profile: str | None
    source: str
    """`profile NAME in PATH` or `CASEWORK_API_KEY`."""


@dataclass(frozen=True)
class Profile:
    name: str
    url: str | None
    key: str
    file: Path


@dataclass(frozen=True)
class ProfilesFile:
    path: Path
    default: str | None
    profiles: dict[str, Profile]


# --- where profiles live ---------------------------------------------------------------------


def user_profiles_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "casework" / PROFILES_FILE


def state_profiles_path(state_dir: Path | None) -> Path:
    from casework.settings import Settings

    return Settings.from_env(state_dir=state_dir).state_dir / PROFILES_FILE


def profiles_paths(state_dir: Path | None) -> list[Path]:
    """The profiles files in the order they are searched: the user's, then the engine's."""
    return [user_profiles_path(), state_profiles_path(state_dir)]


def read_profiles(path: Path) -> ProfilesFile | None:
    """The profiles in `path`, None if there is no such file; DoorProblem (exit 2) if it is not
    what it should be. Warns when a file holding keys can be read by others."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise DoorProblem(
            f"the profiles file {path} cannot be read: {e.strerror}", BAD_INPUT
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise DoorProblem(
            f"the profiles file {path} is not valid TOML ({e}): fix it, or move it away and "
            "name a key with CASEWORK_API_KEY",
            BAD_INPUT,
        ) from None
    default = data.get("default")
    tables = data.get("profiles", {})
    if default is not None and not isinstance(default, str):
        raise DoorProblem(f"{path}: default must be a profile's name in quotes", BAD_INPUT)
    if not isinstance(tables, dict):
        raise DoorProblem(
            f"{path}: profiles must be tables, one per profile: [profiles.NAME]", BAD_INPUT
        )
    profiles = {}
    for name, table in tables.items():
        where = f"{path}: [profiles.{name}]"
        if not isinstance(table, dict):
            raise DoorProblem(f"{where} must be a table with key = ... and url = ...", BAD_INPUT)
        key, url = table.get("key"), table.get("url")
        if not isinstance(key, str) or not key.strip():
            raise DoorProblem(f'{where} has no key: add key = "cw_..."; {KEY_HOWTO}', BAD_INPUT)
        if url is not None and (not isinstance(url, str) or "://" not in url):
            raise DoorProblem(
                f"{where}: url must be the door's address, like {DEFAULT_URL!r}", BAD_INPUT
            )
        profiles[name] = Profile(name=name, url=url, key=key.strip(), file=path)
    if default is not None and default not in profiles:
        raise DoorProblem(
            f"{path}: default names {default!r}, which is not a profile there "
            f"(profiles: {', '.join(sorted(profiles)) or 'none'})",
            BAD_INPUT,
        )
    if profiles:
        _warn_if_readable_by_others(path)
    return ProfilesFile(path=path, default=default, profiles=profiles)


def _warn_if_readable_by_others(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        print(
            f"warning: {path} holds API keys and others can read it (mode {mode:04o}): "
            f"chmod 600 {path}",
            file=sys.stderr,
        )


def all_profiles(state_dir: Path | None) -> list[ProfilesFile]:
    return [found for path in profiles_paths(state_dir) if (found := read_profiles(path))]


# --- which credential ------------------------------------------------------------------------


def resolve(profile: str | None, state_dir: Path | None) -> Credential:
    """The credential this command uses (see the module docstring for the order)."""
    told = environment()
    env_url = told.url
    if profile is not None:
        files = all_profiles(state_dir)
        for found in files:
            if profile in found.profiles:
                return _from_profile(found.profiles[profile], env_url)
        names = sorted({n for f in files for n in f.profiles})
        raise DoorProblem(
            f"there is no profile {profile!r} in "
            f"{' or '.join(str(p) for p in profiles_paths(state_dir))}: "
            + (
                f"use one of {', '.join(names)} (`casework profiles`)"
                if names
                else f"there are no profiles yet; {KEY_HOWTO}"
            ),
            BAD_INPUT,
        )
    key = told.api_key
    if key:
        return Credential(
            url=env_url or DEFAULT_URL, key=key, profile=None, source="CASEWORK_API_KEY"
        )
    files = all_profiles(state_dir)
    for found in files:
        if found.default:
            return _from_profile(found.profiles[found.default], env_url)
    names = sorted({n for f in files for n in f.profiles})
    if names:
        raise DoorProblem(
            "no credential: say who you are with --profile NAME or CASEWORK_PROFILE=NAME "
            f'(profiles: {", ".join(names)}), or set default = "NAME" in a profiles file'
        )
    raise DoorProblem(
        "no credential: the casework API needs to know who you are. Running the demo? "
        f"`casework up` writes a profile per demo person to {state_profiles_path(state_dir)} "
        "(run it first, or point --state-dir / CASEWORK_STATE_DIR at its state folder), then "
        "pick one with --profile acme-alice or CASEWORK_PROFILE=acme-alice. Otherwise " + KEY_HOWTO
    )


def _from_profile(profile: Profile, env_url: str | None) -> Credential:
    return Credential(
        url=profile.url or env_url or DEFAULT_URL,
        key=profile.key,
        profile=profile.name,
        source=f"profile {profile.name} in {profile.file}",
    )


def credential_of(ctx: typer.Context | None = None) -> Credential:
    """The credential of the running command, from its global options."""
    options = globals_of(ctx)
    try:
        return resolve(options.profile, options.state_dir)
    except DoorProblem as e:
        fail(str(e), e.code)


# --- asking the door -------------------------------------------------------------------------


def request(
    credential: Credential,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    json: Any = None,
    files: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> Any:
    """The door's JSON answer to one request; DoorProblem with its one paragraph otherwise.
    `idempotency_key`: sent as the Idempotency-Key header (an action, applied at most once).

    Plain `http.client` (no HTTP library to import: most commands are one small request, and
    an operator runs dozens an hour). A file upload (`files={"file": (name, reader, type)}`,
    with `data` form fields) is streamed as multipart/form-data, never read into memory."""
    import json as jsonlib
    from urllib.parse import urlencode

    url, prefix, address = _door_address(credential)
    query = {k: v for k, v in (params or {}).items() if v is not None}
    full_path = f"{prefix}{path}" + (f"?{urlencode(query, doseq=True)}" if query else "")
    headers = {"Authorization": f"Bearer {credential.key}", "User-Agent": "casework-cli"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    body: Any = None
    if files:
        body, headers["Content-Length"], headers["Content-Type"] = _multipart(files, data or {})
    elif json is not None:
        body = jsonlib.dumps(json).encode()
        headers["Content-Type"] = "application/json"
    status, reason, payload = _exchange(url, address, (method, full_path, body, headers))
    if 200 <= status < 300:
        try:
            return jsonlib.loads(payload)
        except ValueError:
            raise DoorProblem(
                f"{url} answered {path} with something other than JSON: is CASEWORK_URL the "
                "casework API's address?"
            ) from None
    raise refusal(credential, status, reason, payload)


def _door_address(credential: Credential) -> tuple[str, str, tuple[str, str, int | None]]:
    """The door's URL (without a trailing /), its path, and its scheme, host and port;
    DoorProblem (exit 2) when it is not an http(s) address with a host and a valid port."""
    from urllib.parse import urlsplit

    url = credential.url.rstrip("/")
    target = urlsplit(url)
    if target.scheme not in ("http", "https") or not target.hostname:
        raise DoorProblem(
            f"{url} ({credential.source}) is not the casework API's address: write it "
            f"like {DEFAULT_URL}",
            BAD_INPUT,
        )
    try:
        port = target.port
    except ValueError as e:
        raise DoorProblem(f"{url} ({credential.source}) has a bad port: {e}", BAD_INPUT) from None
    return url, target.path, (target.scheme, target.hostname, port)


def _exchange(
    url: str, address: tuple[str, str, int | None], sent: tuple[str, str, Any, dict[str, str]]
) -> tuple[int, str, bytes]:
    """One request (`method, path, body, headers`) on a connection of its own: the answer's
    status, reason and body; DoorProblem when the door cannot be reached or does not answer."""
    import http.client

    (scheme, host, port), (method, full_path, body, headers) = address, sent
    connection_class = (
        http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(host, port, timeout=CONNECT_TIMEOUT)
    try:
        try:
            connection.connect()
        except OSError:
            raise DoorProblem(
                f"cannot reach the casework API at {url}: start the engine (casework up) or "
                "set CASEWORK_URL"
            ) from None
        if connection.sock is not None:
            connection.sock.settimeout(REQUEST_TIMEOUT)
        try:
            connection.request(method, full_path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.reason, response.read()
        except TimeoutError:
            raise DoorProblem(
                f"the casework API at {url} did not answer within {REQUEST_TIMEOUT:.0f} s: the "
                "request may still have been done; look with `casework show` before sending "
                "an action again (an open with the same --request-id is safe to repeat)"
            ) from None
        except (OSError, http.client.HTTPException) as e:
            raise DoorProblem(f"talking to the casework API at {url} failed: {e}") from None
    finally:
        connection.close()


def _multipart(files: dict[str, Any], fields: dict[str, Any]) -> tuple[Any, str, str]:
    """A multipart/form-data body streamed from the files (their size known up front), its
    length and its content type."""
    import os
    import secrets

    boundary = f"casework-{secrets.token_hex(16)}"
    head = b""
    for name, value in fields.items():
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    parts: list[tuple[bytes, Any, int]] = []
    for name, (filename, reader, content_type) in files.items():
        quoted = str(filename).replace('"', "%22").replace("\r", "").replace("\n", "")
        header = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{quoted}"\r\nContent-Type: {content_type}\r\n\r\n'
        ).encode()
        size = os.fstat(reader.fileno()).st_size - reader.tell()
        parts.append((header, reader, size))
    tail = f"--{boundary}--\r\n".encode()
    length = len(head) + sum(len(h) + size + 2 for h, _, size in parts) + len(tail)

    def stream() -> Any:
        yield head
        for header, reader, _ in parts:
            yield header
            while chunk := reader.read(UPLOAD_CHUNK):
                yield chunk
            yield b"\r\n"
        yield tail

    return stream(), str(length), f"multipart/form-data; boundary={boundary}"


def refusal(credential: Credential, status: int, reason: str, payload: bytes) -> DoorProblem:
    """The door's error paragraph, with what the user can do about a credential it refused."""
    import json as jsonlib

    try:
        body = jsonlib.loads(payload)
        message = str(body["error"]) if isinstance(body, dict) and "error" in body else ""
    except ValueError:
        message = ""
    if not message:
        message = f"the casework API at {credential.url} answered {status} {reason}"
    if status == 401:
        message = (
            f"the casework API refused the credential from {credential.source}: {message}. "
            f"Use another profile, or get a new key: {KEY_HOWTO}"
        )
    return DoorProblem(message, BAD_INPUT if status in (400, 422) else REFUSED, status)


def call(method: str, path: str, **kwargs: Any) -> Any:
    """`request` with the running command's credential; a problem ends the command."""
    credential = credential_of()
    try:
        return request(credential, method, path, **kwargs)
    except DoorProblem as e:
        fail(str(e), e.code)


BUSY_TRIES = 4
"""How often an action is sent to a case that is busy (429) or slow (503) before giving up."""
BUSY_PAUSES = (1.0, 2.0, 4.0)
"""Seconds between those tries (about 7 s in all)."""


def act(path: str, **kwargs: Any) -> Any:
    """POST an action under one Idempotency-Key, sent again (the same key: applied at most
    once) while the case is busy (429) or slow (503); then "the case is busy, try again". A
    file to upload (`files`) is sent once: its stream cannot be read twice."""
    import time
    import uuid

    credential = credential_of()
    key = uuid.uuid4().hex
    tries = 1 if kwargs.get("files") else BUSY_TRIES
    for attempt in range(tries):
        try:
            return request(credential, "POST", path, idempotency_key=key, **kwargs)
        except DoorProblem as e:
            if e.status not in (429, 503):
                fail(str(e), e.code)
            if attempt + 1 == tries:
                fail(
                    f"the case is busy, try again: {e} (Idempotency-Key {key}; sending the "
                    "same request with it is safe, it is applied at most once)",
                    e.code,
                )
            time.sleep(BUSY_PAUSES[min(attempt, len(BUSY_PAUSES) - 1)])
    raise AssertionError("unreachable")
