"""The Case Center's operations, shared by the HTTP API (`casework.door.app`) and the web page
(`casework.door.page`): one path into the engine for each, through the same `casework.client`
functions the CLI reaches through the API. Each takes the `Door`, the authenticated person and
the request's fields, checks what the credential allows (`casework.door.rules`), and answers a
model or raises `DoorError` with the status and the sentence the CLI prints.

U5 holds here, for every caller: a restricted case is read through its audited `read` update,
feed pages and files are withheld from outsiders exactly as the engine withholds its view.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from fastapi import UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ValidationError
from starlette.background import BackgroundTask
from temporalio.service import RPCError, RPCStatusCode

from casework.case_list import CaseFilters, CaseSummary
from casework.client import (
    CaseworkError,
    check_case_id,
    intake_id,
    list_cases,
    open_case,
    read_case,
)
from casework.codec.access import register_intake_realm
from casework.domain.actions import ACTION_MODELS, MODELS, ActionBase, ActionResult
from casework.domain.catalogue import ACTIONS as CATALOGUE
from casework.domain.feed_pages import feed_window
from casework.domain.models import (
    Attachment,
    CaseView,
    CaseWorkflowInput,
    FeedEntry,
    Identifier,
    OpenCaseRequest,
    OpenCaseResult,
    case_id_for,
)
from casework.domain.once import action_update_id
from casework.domain.partner import partner_queue
from casework.domain.us_citizen import withhold_feed
from casework.domain.validation import RECORDED
from casework.door.bounds import store_upload
from casework.door.errors import DoorError, invalid
from casework.door.people import Identity, identify
from casework.door.rules import (
    BadRequest,
    Refused,
    action_fields,
    open_fields,
    request_id_for,
    restricted_reason,
)
from casework.door.service import Door
from casework.door.withhold import as_u5_allows
from casework.identity.interceptors import acting
from casework.identity.principal import Principal
from casework.identity.tokens import message_digest

M = TypeVar("M", bound=BaseModel)

MAX_LISTED_CASES = 1_000
ACTIONS: dict[str, type[ActionBase]] = MODELS
"""What the action route takes: every action of the catalogue (a file's, by its own route)."""
IDEMPOTENCY_KEY_CHARS = 64
"""An Idempotency-Key becomes the open request's `request_id` (an Identifier: 64 characters
of letters, digits and . _ @ : -)."""


class FeedPage(BaseModel):
    """`GET /v1/cases/{case}/feed`: one page of the feed (E4). Page 1 holds the newest
    `page_size` entries, page 2 the ones before; within a page, entries are in the order they
    happened (as `casework show --page` prints them)."""

    case_id: str
    page: int
    page_size: int
    total: int
    withheld: bool = False
    """U5: the entries say that they exist, not what they say."""
    entries: list[FeedEntry]


def case_number(case: str) -> str:
    """`case-000123` or `123` as a case number; 400 otherwise."""
    try:
        return check_case_id(case)
    except CaseworkError as e:
        raise DoorError(400, str(e)) from None


def principal_of(person: Identity, acted_for: Identity | None = None) -> Principal:
    return Principal(id=person.id, on_behalf_of=acted_for.id if acted_for else None, via=person.via)


# --- opening ---------------------------------------------------------------------------------


def check_idempotency_key(key: str | None) -> str | None:
    """The header's value as a request id, or 422 naming the header."""
    if key is None:
        return None
    from pydantic import TypeAdapter

    try:
        return TypeAdapter(Identifier).validate_python(key)
    except ValidationError:
        raise DoorError(
            422,
            "case not opened: Idempotency-Key must be 1 to 64 letters, digits and . _ @ : - "
            f"(a UUID is a good key), not {key[:80]!r}",
            ["Idempotency-Key"],
        ) from None


async def open_for(
    door: Door, person: Identity, body: dict[str, Any], idempotency_key: str | None = None
) -> OpenCaseResult:
    """Open a case (or, P2, refer a PAR customer to their partner) for `person`. The same
    Idempotency-Key (or `request_id`) with the same request answers the same case; with a
    different request, 422 saying which fields differ, and nothing is opened. A key is the
    caller's own (`rules.request_id_for`): the same key from another account opens its own
    case and is never compared with this one."""
    key = check_idempotency_key(idempotency_key)
    if key is not None:
        named = body.get("request_id")
        if named is not None and named != key:
            raise DoorError(
                422,
                f"case not opened: the body's request_id {named!r} and the Idempotency-Key "
                f"{key!r} differ; send one of them",
                ["request_id"],
            )
        body = {**body, "request_id": key}
    try:
        fields = open_fields(person, body)
    except BadRequest as e:
        raise DoorError(422, f"case not opened: {e}", e.fields) from None
    except Refused as e:
        raise DoorError(403, f"case not opened: {e}") from None
    asked = str(fields["request_id"])  # the caller's key, or the door's for them
    fields["request_id"] = request_id_for(person, asked)
    try:
        opening = OpenCaseRequest.model_validate(fields)
    except ValidationError as e:
        raise invalid(e, "case not opened") from None
    if body.get("request_id") is not None:
        await _same_request_or_conflict(door, opening, asked)
    if door.opener is None:  # U5: the intake's input is encrypted with the account's keys
        await asyncio.to_thread(
            register_intake_realm, door.store, opening.request_id, opening.account_id
        )
    result = await door.answered(
        open_case(
            door.client,
            opening,
            task_queue=door.task_queue,
            case_options=door.case_options,
            opener=door.opener,
        ),
        f"open request {asked}",
        f" The request is kept: send it again with request_id {asked} to get its case number.",
    )
    if body.get("request_id") is not None and (door.opener is None or not result.created):
        # two requests raced on one key: the loser is told. The door's own intake answers
        # created=True to the request that opened the case (it is this one: nothing to compare);
        # through the Intake workflow, every request of one key gets the intake's answer.
        await _same_request_or_conflict(door, opening, asked)
    return result


async def _same_request_or_conflict(door: Door, opening: OpenCaseRequest, key: str) -> None:
    """A request id used before must come with the same request, compared field by field
    with the first one sent (`_earlier`): the caller's own, as the id is theirs."""
    earlier = await _earlier(door, opening.request_id)
    if earlier is None:
        return  # never used
    now = opening.model_dump(mode="json", exclude={"request_id"})
    differ = sorted(k for k in now if k in earlier and not _same(k, earlier[k], now[k]))
    if differ:
        raise DoorError(
            422,
            f"case not opened: the key {key!r} was used for another request of yours "
            f"(it differs in {', '.join(differ)}); send that request again to get its case, "
            "or use a new key for a new case",
            differ,
        )


def _same(field: str, before: Any, now: Any) -> bool:
    if field == "product" and isinstance(before, str) and isinstance(now, str):
        return before.casefold() == now.casefold()  # the intake keeps the catalogue's spelling
    return bool(before == now)


async def _earlier(door: Door, request_id: str) -> dict[str, Any] | None:
    """The fields of the request first sent under this id: the intake workflow's input (its
    history's first event); or, opened by the door's own intake (`Door.opener`), the case's
    start input; or (P2) what its referral recorded. A door with its own intake goes by the
    database, where every opened request has its number (given by this door's intake or by an
    Intake workflow's) and every referred one its referral: a new request (most of them) costs
    two reads and no round trip to Temporal. A refused request left neither, and nothing to
    compare with: the key is free for the request sent now."""
    if door.opener is None:
        earlier = await _first_input(door, intake_id(request_id), OpenCaseRequest)
        return earlier.model_dump(mode="json", exclude={"request_id"}) if earlier else None
    number = await asyncio.to_thread(door.store.intake.case_number_for, request_id)
    if number is not None:
        case = await _first_input(door, case_id_for(number), CaseWorkflowInput)
        request = case.intake.request if case is not None else None
        return request.model_dump(mode="json", exclude={"request_id"}) if request else None
    referral = await asyncio.to_thread(door.store.intake.referral_for, request_id)
    if referral is None:
        return None
    return {
        "account_id": referral["account"],
        "contact_id": referral["contact"],
        "channel": referral["channel"],
    }


async def _first_input(door: Door, workflow_id: str, model: type[M]) -> M | None:
    """The input a workflow was started with, or None if there is no such workflow, or its
    input is not a `model` (issue 24: anyone with access to the namespace can start a workflow
    under an intake's id with any payload, which the intake refuses: no request was sent).
    Read as it was accepted then (RECORDED: before the character rule, a request could hold a
    control character)."""
    handle = door.client.get_workflow_handle(workflow_id)
    try:
        async for event in handle.fetch_history_events():
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            try:
                first = (await door.client.data_converter.decode(payloads, [dict]))[0]
                return model.model_validate(first, context=RECORDED)
            except Exception:  # undecodable, another shape, no input: whatever it was, not one
                return None
    except RPCError as e:
        if e.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    except ValidationError:  # not a request this door sent: nothing to compare with
        return None
    return None


# --- reading ---------------------------------------------------------------------------------


async def list_for(
    door: Door, person: Identity, filters: CaseFilters, limit: int = 50
) -> list[CaseSummary]:
    """Rows carry no content of a case (U5). A contact lists their own account's cases; a
    partner's engineer their partner's, which wait in its queue at every level (P3), as `show`
    lets them see (`rules.may_see_case_of`)."""
    if person.kind == "contact":
        if filters.account is not None and filters.account != person.account:
            raise DoorError(
                403, f"{person.id} is a contact of {person.account}: list its cases only"
            )
        filters = replace(filters, account=person.account)
    queue = None
    if person.kind == "partner_engineer":
        if person.partner is None:  # pragma: no cover - the directory gives each one a partner
            raise DoorError(403, f"{person.id} is a partner's engineer of no partner")
        queue = partner_queue(person.partner)
    try:
        query = filters.query(queue)
    except CaseworkError as e:
        raise DoorError(400, str(e)) from None
    return await door.answered(list_cases(door.client, query, limit=limit), "the case list")


async def show_for(door: Door, person: Identity, case_id: str) -> CaseView:
    """U5: a running restricted case is read with its audited `read` update."""
    view = await door.view(person, case_id)
    if view.restricted:
        with acting(principal_of(person)):
            view = await door.answered(
                read_case(door.client, case_id, person.id, door.clock), f"the view of {case_id}"
            )
        contacts = await door.contacts_of(view.account_id)
        reason = restricted_reason(person, view.account_id, contacts)
        withheld = view.content_withheld or reason is not None
        await door.audit(person, "read", case_id, view.account_id, not withheld, reason or "")
        if withheld and not view.content_withheld:  # the case knew an older membership
            raise DoorError(403, f"{case_id} is not shown: {reason}")
    return view


async def feed_for(
    door: Door,
    person: Identity,
    case_id: str,
    page: int = 1,
    page_size: int = 50,
    view: CaseView | None = None,
) -> FeedPage:
    """Older pages come from the database; U5 withholds them from outsiders as the case
    withholds its own tail."""
    try:
        feed_window(0, page, page_size)
    except ValueError as e:
        raise DoorError(422, f"page and page_size: {e}", ["page", "page_size"]) from None
    if view is None:
        view = await door.view(person, case_id)
    withheld = view.content_withheld
    reason = ""
    contacts: set[str] = set()
    if view.restricted:
        contacts = await door.contacts_of(view.account_id)
        reason = restricted_reason(person, view.account_id, contacts) or ""
        withheld = withheld or bool(reason)
    offset, limit = feed_window(view.feed_total, page, page_size)
    first = view.feed_total - len(view.feed)
    if offset >= first:
        entries = [e for e in view.feed if e.seq is not None and offset <= e.seq < offset + limit]
    else:
        rows = await asyncio.to_thread(door.store.feed.page, case_id, offset=offset, limit=limit)
        entries = [FeedEntry.model_validate(r) for r in rows]
    if withheld:
        entries = withhold_feed(entries, contacts)
    if view.restricted:
        await door.audit(person, "feed", case_id, view.account_id, not withheld, reason)
    return FeedPage(
        case_id=case_id,
        page=page,
        page_size=page_size,
        total=view.feed_total,
        withheld=withheld,
        entries=entries,
    )


# --- acting ----------------------------------------------------------------------------------


def action_key(header: str | None) -> str:
    """An action's Idempotency-Key: the caller's (1 to 64 letters, digits and . _ @ : -, else
    422 naming the header), or a new one."""
    if header is None:
        return uuid.uuid4().hex
    from pydantic import TypeAdapter

    try:
        return TypeAdapter(Identifier).validate_python(header)
    except ValidationError:
        raise DoorError(
            422,
            "action not sent: Idempotency-Key must be 1 to 64 letters, digits and . _ @ : - "
            f"(a UUID is a good key), not {header[:80]!r}",
            ["Idempotency-Key"],
        ) from None


async def act_for(
    door: Door,
    person: Identity,
    case_id: str,
    action: str,
    body: dict[str, Any],
    idempotency_key: str | None = None,
) -> ActionResult:
    """Any Case Center action but attach, as `person` (or, Customer Care, for a caller),
    applied at most once under `idempotency_key` (a new key when None: the door's own resends
    still count once)."""
    key = action_key(idempotency_key)
    if action in CATALOGUE and CATALOGUE[action].upload:
        where = f"POST /v1/cases/{case_id}/attachments (multipart)"
        raise DoorError(400, f"{action} a file with {where}")
    model = ACTIONS.get(action)
    if model is None:
        raise DoorError(
            404, f"there is no action {action!r}; use one of {', '.join(sorted(ACTIONS))}"
        )
    named = body.get("on_behalf_of")
    acted_for = None
    if isinstance(named, str) and named.strip():
        acted_for = await asyncio.to_thread(identify, door.store, named.strip(), person.via)
    try:
        payload = action_fields(person, action, body, acted_for)
    except BadRequest as e:
        fields: list[str] = [f for f in ("actor", "recorded_by") if f in body]
        raise DoorError(422, f"{action} not sent: {e}", fields) from None
    except Refused as e:
        raise DoorError(403, f"{action} not sent: {e}") from None
    try:
        checked = model.model_validate(payload).model_dump(mode="json", exclude_none=True)
    except ValidationError as e:
        raise invalid(e, f"{action} not sent") from None
    update_id = action_update_id(person.id, key, message_digest([action, checked]))
    with acting(principal_of(person, acted_for)):
        answer = door.send_action(case_id, action, checked, update_id, key)
        return await as_u5_allows(door, person, case_id, action, answer)


async def attach_for(
    door: Door,
    person: Identity,
    case_id: str,
    upload: UploadFile,
    kind: str = "log",
    name: str | None = None,
    idempotency_key: str | None = None,
) -> ActionResult:
    """The file streams to the attachment store (bounded); the case records its reference,
    once per Idempotency-Key (`act_for`)."""
    key = action_key(idempotency_key)
    fields = {"actor": person.id, "name": name or upload.filename or "", "kind": kind}
    try:
        ACTION_MODELS["attach"].model_validate({**fields, "sha256": "0" * 64, "size": 0})
    except ValidationError as e:
        raise invalid(e, "attach not sent") from None
    realm = await asyncio.to_thread(door.store.realms.lookup, case_id)
    stored = await store_upload(door, upload, restricted=realm is None or realm.restricted)
    payload = {**fields, "sha256": stored.sha256, "size": stored.size}
    update_id = action_update_id(person.id, key, message_digest(["attach", payload]))
    with acting(principal_of(person)):
        answer = door.send_action(case_id, "attach", payload, update_id, key)
        return await as_u5_allows(door, person, case_id, "attach", answer)


@dataclass(frozen=True)
class Download:
    """A file to answer with: its path (a private plaintext copy when it is encrypted at rest,
    removed after the answer) and what the case calls it."""

    path: Path
    attachment: Attachment
    temporary: bool


async def download_for(door: Door, person: Identity, case_id: str, attachment_id: str) -> Download:
    """A file of the case, for whoever may read the case's content (U5: not an outsider of a
    restricted case; the read is audited like a `show`)."""
    view = await show_for(door, person, case_id)
    found = next((a for a in view.attachments if a.id == attachment_id), None)
    if view.content_withheld:
        raise DoorError(
            403,
            f"{attachment_id} of {case_id} is withheld: {person.id} is neither a member of the "
            "US citizen restricted queue nor a contact of the account (U5)",
        )
    if found is None:
        names = ", ".join(a.id for a in view.attachments) or "none"
        raise DoorError(404, f"{case_id} has no attachment {attachment_id!r} (it has: {names})")
    store = door.attachments
    if not await asyncio.to_thread(store.exists, found.sha256):
        raise DoorError(
            404, f"{attachment_id} ({found.name}) is not in the attachment store {store.root}"
        )
    if not await asyncio.to_thread(store.is_encrypted, found.sha256):
        return Download(store.path_for(found.sha256), found, temporary=False)
    handle, temporary = tempfile.mkstemp(prefix=".download-", dir=store.root)
    try:
        with os.fdopen(handle, "wb") as writer:
            await asyncio.to_thread(store.copy_out, found.sha256, writer)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return Download(Path(temporary), found, temporary=True)


def file_response(got: Download) -> FileResponse:
    """The file as an answer, streamed from disk; a decrypted copy is removed after it."""
    cleanup = BackgroundTask(got.path.unlink, missing_ok=True) if got.temporary else None
    return FileResponse(
        got.path,
        media_type="application/octet-stream",
        filename=got.attachment.name,
        background=cleanup,
    )
