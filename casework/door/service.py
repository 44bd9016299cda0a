"""What the door's handlers share (`Door`): who is asking (an API key or an OIDC token, bound
to a person of the directory), the audit of restricted reads, and calls to Temporal with a
deadline. The database is blocking (SQLAlchemy): its calls run in threads, never on the event
loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from casework.attachments import AttachmentStore
from casework.client import CaseworkError, Clock, Opener, act_on_case, view_case, wall_clock
from casework.codec.payload import RealmCache
from casework.domain.actions import ActionResult
from casework.domain.models import CaseView
from casework.domain.partner import escalated_for
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
from casework.identity.interceptors import PrincipalHeaders, acting, with_encrypted_headers
from casework.identity.keyring import KeyRing
from casework.identity.principal import Principal, Via
from casework.settings import MAX_UPLOAD_BOUND as MAX_UPLOAD_BOUND
from casework.settings import MAX_UPLOAD_BYTES as MAX_UPLOAD_BYTES
from casework.settings import parse_size as parse_size
from casework.store import Store

T = TypeVar("T")

ANSWER_TIMEOUT = 30.0
"""Seconds the door waits for Temporal and the worker (open, read, an action) before 503."""
IDEMPOTENCY_HEADER = "Idempotency-Key"
BUSY_RETRY_AFTER = 1
"""Seconds a busy case's 429 asks the caller to wait (Retry-After)."""
RESENT_ON = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED})
"""Errors after which the door sends an action again under the same update id: the server
aborted it (it lost the task carrying it) or did not answer."""
RESEND_FIRST_PAUSE = 0.1
RESEND_LAST_PAUSE = 2.0


def door_client(client: Client, ring: KeyRing) -> Client:
    """`client` with the door's `PrincipalHeaders` interceptor (once), its headers (the
    tokens) encrypted like payloads."""
    client = with_encrypted_headers(client)
    config = client.config()
    if any(isinstance(i, PrincipalHeaders) for i in config["interceptors"]):
        return client
    config["interceptors"] = [*config["interceptors"], PrincipalHeaders(ring)]
    return Client(**config)


CASE_ACTIONS_IN_FLIGHT = 8
"""Actions one door sends one case at a time, below Temporal's limit of updates in flight per
workflow (10 on the dev server; `history.maxInFlightUpdates`). Past that limit the server
turns requests away and, under a flood, keeps losing the task that carries the admitted ones
(measured: 1,000 comments at once stalled a case for 74 s); a door that queues its own
requests keeps the case moving."""
SLOT_WAIT = 10.0
"""Seconds a request waits for one of its case's slots before a 429."""


class CaseGates:
    """Per case, at most CASE_ACTIONS_IN_FLIGHT actions of this door in flight; the others wait
    their turn (SLOT_WAIT at most, then 429). A gate lives while someone uses it."""

    def __init__(self, width: int = CASE_ACTIONS_IN_FLIGHT, wait: float = SLOT_WAIT) -> None:
        self.width = width
        self.wait = wait
        self._gates: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    @asynccontextmanager
    async def slot(self, case_id: str, action: str, key: str) -> AsyncIterator[None]:
        gate, users = self._gates.setdefault(case_id, (asyncio.Semaphore(self.width), [0]))
        users[0] += 1
        try:
            try:
                await asyncio.wait_for(gate.acquire(), self.wait)
            except TimeoutError:
                raise DoorError(
                    429,
                    f"{case_id} is busy: {self.width} actions are in flight on it and more "
                    f"wait. The case did not take this {action}; send it again in "
                    f"{BUSY_RETRY_AFTER} s with the same Idempotency-Key ({key}).",
                    headers={IDEMPOTENCY_HEADER: key, "Retry-After": str(BUSY_RETRY_AFTER)},
                ) from None
            try:
                yield
            finally:
                gate.release()
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._gates[case_id]


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
    gates: CaseGates = field(default_factory=lambda: CaseGates())
    """How many actions this door has in flight on each case (`CaseGates`)."""
    clock: Clock = wall_clock
    """The door's clock: every SLA figure it answers is read at it, when it answers (S2)."""
    realms: RealmCache = field(init=False)
    """Each case's realm (its account, restricted or not), read from the database once: a realm
    never changes once registered, before its case starts (U5: `withhold`)."""

    def __post_init__(self) -> None:
        self.realms = RealmCache(self.store.realms.lookup)

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
        try:
            directory_id, person = await asyncio.to_thread(self._identify, credential)
        except CredentialRefused as e:
            raise DoorError(401, str(e)) from None
        if person is None:
            raise DoorError(
                403,
                f"the credential is good, but {directory_id!r} is not in the casework directory "
                "(no contact, engineer, partner engineer or Escalation Manager has that id): "
                "ask your operator",
            )
        note_principal(person.id)  # the access log names who asked (issue 27)
        return person

    def _identify(self, credential: str) -> tuple[str, Identity | None]:
        """The directory id `credential` is good for, and who that is: one trip to a thread
        (the credential's check and the directory's answer are both database reads)."""
        via: Via
        if credential.startswith(KEY_PREFIX):
            directory_id, via = check_api_key(self.store, credential, datetime.now(UTC)), "api-key"
        elif self.oidc is not None:
            directory_id, via = self.oidc.check(credential), "oidc"
        else:
            raise CredentialRefused(
                "the credential is not a casework API key (cw_...), and this door takes no "
                "OIDC tokens (CASEWORK_OIDC_* is not set): send the key `casework keys "
                "create` printed for you"
            )
        return directory_id, identify(self.store, directory_id, via)

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
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
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

    async def send_action(
        self, case_id: str, action: str, payload: dict[str, Any], update_id: str, key: str
    ) -> ActionResult:
        """The action's outcome, sent as update `update_id` (the caller's Idempotency-Key,
        `casework.domain.once`), so that it is applied at most once however often it is sent:
        - Temporal's limit on one case's updates in flight: 429 with Retry-After, the case did
          not take it (never a refusal: nothing was refused);
        - an update the server aborted (it lost the task that carried it) or a server that does
          not answer: sent again under the same id until the deadline, so the answer is its
          real outcome (a retry of an update the case took is answered as taken);
        - past the deadline: 503 saying that the case may still take it, and that sending it
          again with the same key is safe."""
        deadline = asyncio.get_running_loop().time() + self.answer_timeout
        async with self.gates.slot(case_id, action, key):
            return await self._send(case_id, action, payload, update_id, key, deadline)

    async def _send(
        self,
        case_id: str,
        action: str,
        payload: dict[str, Any],
        update_id: str,
        key: str,
        deadline: float,
    ) -> ActionResult:
        echo = {IDEMPOTENCY_HEADER: key}
        loop = asyncio.get_running_loop()
        pause = RESEND_FIRST_PAUSE
        while True:
            left = deadline - loop.time()
            try:
                return await asyncio.wait_for(
                    act_on_case(self.client, case_id, action, payload, update_id), left
                )
            except TimeoutError:
                break
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                # the server's own wait for the update ended: ask again under the same id
                if loop.time() + pause >= deadline:
                    break
                await asyncio.sleep(pause)
                continue
            except CaseworkError as e:
                error = case_error(e)
                error.headers.update(echo)
                raise error from None
            except RPCError as e:
                if e.status is RPCStatusCode.RESOURCE_EXHAUSTED:
                    raise DoorError(
                        429,
                        f"{case_id} is busy: it has as many actions in flight as one case may. "
                        f"The case did not take this {action}; send it again in "
                        f"{BUSY_RETRY_AFTER} s with the same Idempotency-Key ({key}).",
                        headers={**echo, "Retry-After": str(BUSY_RETRY_AFTER)},
                    ) from None
                if e.status not in RESENT_ON:
                    raise DoorError(
                        409, f"Temporal refused {action} on {case_id}: {e.message}", headers=echo
                    ) from None
                if loop.time() + pause >= deadline:
                    break
                await asyncio.sleep(pause)
                pause = min(pause * 2, RESEND_LAST_PAUSE)
        raise DoorError(
            503,
            f"no answer to {action} on {case_id} within {self.answer_timeout:.0f} s: the "
            "casework worker or Temporal is slow or away, and the case may still take it. Send "
            f"the same request again with the header Idempotency-Key: {key}; it is applied at "
            "most once and answered with its outcome.",
            headers=echo,
        )

    async def view(self, person: Identity, case_id: str) -> CaseView:
        """The case's view by query, after checking that `person` may look at its account."""
        principal = Principal(id=person.id, via=person.via)
        with acting(principal):
            view = await self.answered(
                view_case(self.client, case_id, person.id, self.clock), f"the view of {case_id}"
            )
        refusal = may_see_case_of(person, view.account_id, view.partner_id or escalated_for(view))
        if refusal is not None:
            if view.restricted:
                await self.audit(person, "read", case_id, view.account_id, False, refusal)
            raise DoorError(403, f"{case_id} is not shown: {refusal}")
        return view

    async def contacts_of(self, account_id: str) -> set[str]:
        account = await asyncio.to_thread(self.store.directory.account, account_id)
        return {c.id for c in account.contacts} if account else set()
