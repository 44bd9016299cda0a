"""The codec server's mount point (issue 10): `casework.codec.server` at `/codec`, for the Web
UI and `temporal --codec-endpoint`. It decrypts for a valid casework credential only,
restricted payloads only for the restricted queue's members and the account's contacts, and
every decode of a restricted payload, granted or refused, is in the audit table (path codec)."""

from __future__ import annotations

from fastapi import FastAPI

from casework.door.service import Door
from casework.identity.keyring import KeyRing


def mount_codec(app: FastAPI, door: Door, ring: KeyRing) -> None:
    from casework.codec.access import restricted_reader
    from casework.codec.server import add_codec_cors, codec_router

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
        ),
        prefix="/codec",
    )
    add_codec_cors(app)
