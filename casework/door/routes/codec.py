"""The codec server's mount point (issue 10): `casework.codec.server` at `/codec`, for the Web
UI and `temporal --codec-endpoint`. It decrypts for a valid casework credential only,
restricted payloads only for the restricted queue's members and the account's contacts, and
every decode of a restricted payload, granted or refused, is in the audit table (path codec)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, Request

from casework.door.service import Door
from casework.door.session import COOKIE, Sessions
from casework.identity.keyring import KeyRing


def mount_codec(
    app: FastAPI, door: Door, ring: KeyRing, origins: Sequence[str] | None = None
) -> None:
    """`origins`: the Web UI's, which may call the codec with credentials (CORS): by default
    CASEWORK_CODEC_CORS_ORIGINS or the embedded Web UI's (`casework.codec.server.ui_origins`).
    From those origins the Web UI's "Include cross-origin credentials" sends the Case Center's
    sign-in cookie, which counts as its person's credential."""
    from casework.codec.access import restricted_reader
    from casework.codec.server import add_codec_cors, codec_router, ui_origins

    allowed = list(origins or ui_origins())
    sessions = Sessions(ring)

    def signed_in(request: Request) -> str | None:
        session = sessions.open(request.cookies.get(COOKIE))
        return session.authorization if session else None

    def audit(
        principal_id: str,
        action: str,
        workflow_id: str | None,
        account_id: str | None,
        granted: bool,
        reason: str,
    ) -> None:
        door.store.audit.record(
            principal=principal_id,
            on_behalf_of=None,
            path="codec",
            action=action,
            case_id=workflow_id,
            account_id=account_id,
            granted=granted,
            reason=reason,
        )

    app.include_router(
        codec_router(
            ring,
            authenticate=door.authenticate,
            may_read_restricted=restricted_reader(door.store),
            audit=audit,
            cookie_credential=signed_in,
            origins=allowed,
        ),
        prefix="/codec",
    )
    add_codec_cors(app, allowed)
