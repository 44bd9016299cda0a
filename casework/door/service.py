"""What the door's handlers share (`Door`): who is asking (an API key or an OIDC token, bound
to a person of the directory), the audit of restricted reads, and calls to Temporal with a
deadline. The database is blocking (SQLAlchemy): its calls run in threads, never on the event
loop."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from casework.attachments import AttachmentStore
from casework.client import CaseworkError, Opener, view_case
from casework.domain.models import CaseView
from casework.door.access_log import note_principal
from casework.door.credentials import (
    KEY_PREFIX,
    MAX_CREDENTIAL_CHARS,
    CredentialRefused,
    OidcVerifier,
    check_api_key,
)
from casework.door.errors import DoorError, case_error
from casework.door.people import Identity, identify
from casework.door.rules import may_see_case_of
from casework.identity.interceptors import PrincipalHeaders, acting
from casework.identity.keyring import KeyRing
from casework.identity.principal import Principal
from casework.store import Store

T = TypeVar("T")

ANSWER_TIMEOUT = 30.0
"""Seconds the door waits for Temporal and the worker (open, read, an action) before 503."""
MAX_UPLOAD_BYTES = 256 << 20
"""An attachment's bound (a large log); `create_app(max_upload_bytes=...)` changes it."""


_SIZE = re.compile(r"^\s*(\d+)\s*(|B|KB|MB|GB|KIB|MIB|GIB)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}
MAX_UPLOAD_BOUND = 64 << 30
"""The largest bound one may configure (64 GB)."""


def parse_size(text: str) -> int:
    """`256MB`, `10mb`, `500KB` or bytes as a bound for an attachment (KB = 1024 bytes)."""
    found = _SIZE.match(text)
    if not found:
        raise ValueError(f"{text!r} is not a size; write it like 256MB, 10MB, 500KB or 1048576")
    unit = found.group(2).upper().replace("IB", "B")
    size = int(found.group(1)) * _UNITS[unit]
    if not 0 < size <= MAX_UPLOAD_BOUND:
        raise ValueError(f"{text!r} is out of range: from 1 byte to 64GB")
    return size


def door_client(client: Client, ring: KeyRing) -> Client:
    """`client` with the door's `PrincipalHeaders` interceptor (once)."""
    config = client.config()
    if any(isinstance(i, PrincipalHeaders) for i in config["interceptors"]):
        return client
    config["interceptors"] = [*config["interceptors"], PrincipalHeaders(ring)]
    return Client(**config)


@dataclass
class Door:
    """What the app's handlers share."""

    store: Store
    client: Client
    task_queue: str
    attachments: AttachmentStore
    oidc: OidcVerifier | None = None
    answer_timeout: float = ANSWER_TIMEOUT
    case_options: dict[str, Any] = field(default_factory=dict)
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    opener: Opener | None = None
    """The intake done in this process, when the door runs beside a worker (`casework up`):
    cases open without an intake workflow. None: through the Intake workflow."""

    # --- who is asking ----------------------------------------------------------------------

    async def person(self, authorization: str | None) -> Identity:
        """The person the credential belongs to, or DoorError 401/403."""
        if not authorization:
            raise DoorError(
                401,
                "no credential: send `Authorization: Bearer <key>` with the API key `casework "
                "keys create` printed for you (or, where configured, an OIDC access token)",
            )
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise DoorError(401, "the Authorization header must be `Bearer <credential>`")
        if len(credential) > MAX_CREDENTIAL_CHARS:
            raise DoorError(401, f"the credential is longer than {MAX_CREDENTIAL_CHARS} characters")
        now = datetime.now(UTC)
        try:
            if credential.startswith(KEY_PREFIX):
                directory_id = await asyncio.to_thread(check_api_key, self.store, credential, now)
                via = "api-key"
            elif self.oidc is not None:
                directory_id = await asyncio.to_thread(self.oidc.check, credential)
                via = "oidc"
            else:
                raise CredentialRefused(
                    "the credential is not a casework API key (cw_...), and this door takes no "
                    "OIDC tokens (CASEWORK_OIDC_* is not set): send the key `casework keys "
                    "create` printed for you"
                )
        except CredentialRefused as e:
            raise DoorError(401, str(e)) from None
        person = await asyncio.to_thread(identify, self.store, directory_id, via)  # type: ignore[arg-type]
        if person is None:
            raise DoorError(
                403,
                f"the credential is good, but {directory_id!r} is not in the casework directory "
                "(no contact, engineer, partner engineer or Escalation Manager has that id): "
                "ask your operator",
            )
        note_principal(person.id)  # the access log names who asked (issue 27)
        return person

    async def authenticate(self, authorization: str | None) -> Principal | None:
        """For the codec server: the principal of a good credential, None for any other."""
        try:
            person = await self.person(authorization)
        except DoorError:
            return None
        return Principal(id=person.id, via=person.via)

    async def audit(
        self,
        principal: Principal | Identity,
        action: str,
        case_id: str | None,
        account_id: str | None,
        granted: bool,
        reason: str = "",
        path: str = "api",
    ) -> None:
        await asyncio.to_thread(
            self.store.audit.record,
            principal=principal.id,
            on_behalf_of=getattr(principal, "on_behalf_of", None),
            path=path,  # type: ignore[arg-type]
            action=action,
            case_id=case_id,
            account_id=account_id,
            granted=granted,
            reason=reason,
        )

    # --- talking to Temporal ----------------------------------------------------------------

    async def answered(self, work: Awaitable[T], what: str, hint: str = "") -> T:
        """`work`'s result; DoorError 503 when Temporal or the worker does not answer in time,
        the CaseworkError's status otherwise."""
        try:
            return await asyncio.wait_for(work, self.answer_timeout)
        except TimeoutError:
            raise DoorError(
                503,
                f"no answer to {what} within {self.answer_timeout:.0f} s: the casework worker "
                f"(task queue {self.task_queue!r}) or Temporal is not answering; try again "
                f"shortly.{hint}",
            ) from None
        except CaseworkError as e:
            raise case_error(e) from None
        except RPCError as e:
            if e.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                raise DoorError(503, f"Temporal is not reachable: {e.message}") from None
            raise DoorError(409, f"Temporal refused {what}: {e.message}") from None

    async def view(self, person: Identity, case_id: str) -> CaseView:
        """The case's view by query, after checking that `person` may look at its account."""
        principal = Principal(id=person.id, via=person.via)
        with acting(principal):
            view = await self.answered(
                view_case(self.client, case_id, person.id), f"the view of {case_id}"
            )
        refusal = may_see_case_of(person, view.account_id, view.partner_id)
        if refusal is not None:
            if view.restricted:
                await self.audit(person, "read", case_id, view.account_id, False, refusal)
            raise DoorError(403, f"{case_id} is not shown: {refusal}")
        return view

    async def contacts_of(self, account_id: str) -> set[str]:
        account = await asyncio.to_thread(self.store.directory.account, account_id)
        return {c.id for c in account.contacts} if account else set()
