"""Who may do what through the door, before anything is sent (E1, E3, P3, U5). Pure: each
function takes the authenticated person (`Identity`) and the request's fields and answers the
fields to send, or raises `Refused` (403) / `BadRequest` (422) with a message that says what
was wrong and what to do instead. The case workflow still applies its own rules (who may act
on a case, in which state); these are the door's: whose name a request may carry."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from pydantic import TypeAdapter, ValidationError

from casework.domain.catalogue import PHONE_ACTIONS as PHONE_ACTIONS  # E3, U6: by_phone
from casework.domain.models import Identifier
from casework.door.people import Identity

FILLED_BY_THE_DOOR = ("actor", "recorded_by")


class Refused(Exception):
    """403: the credential is good, but this person may not do this."""


class BadRequest(Exception):
    """422: the request itself is wrong; nothing was sent. `fields`: the fields it is about."""

    def __init__(self, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or []


OPENING_IDS = ("request_id", "account_id", "contact_id", "received_by", "partner_id")
"""The ids of an open request the door reads before the request is validated whole: each must
be an id before the rules compare it with the credential's (a malformed one is a 422, not a
refusal about whose it is)."""
_AN_ID: TypeAdapter[str] = TypeAdapter(Identifier)


def _must_be_an_id(name: str, value: Any) -> None:
    if value is None:
        return
    try:
        _AN_ID.validate_python(value)
    except ValidationError:
        raise BadRequest(
            f"{name} must be an id: 1 to 64 letters, digits and . _ @ : -", [name]
        ) from None


def _text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def open_fields(person: Identity, body: dict[str, Any]) -> dict[str, Any]:
    """The fields of an OpenCaseRequest for `person`, with what the credential says filled in:
    a contact opens on the web for their own account and themselves; a Customer Care engineer
    opens a phone case they received, for any caller; a partner's engineer opens a partner case
    for their own partner (P3). Anyone else: Refused. An id or a channel that is not one:
    BadRequest."""
    for name in OPENING_IDS:
        _must_be_an_id(name, body.get(name))
    if not isinstance(body.get("channel", ""), str):
        raise BadRequest("channel must be web, phone or partner", ["channel"])
    fields = {k: _text(v) for k, v in body.items()}
    if fields.get("request_id") is None:  # a key of the door's making: a new request
        fields["request_id"] = uuid.uuid4().hex
    if isinstance(fields.get("channel"), str):
        fields["channel"] = fields["channel"].lower()
    if person.kind == "contact":
        fields.setdefault("channel", "web")
        fields.setdefault("account_id", person.account)
        fields.setdefault("contact_id", person.id)
        if fields["channel"] != "web":
            raise Refused(
                f"{person.id} is a contact: a contact opens a case on the web (channel web); "
                "a phone case is opened by the Customer Care agent who takes the call"
            )
        if fields["account_id"] != person.account:
            raise Refused(
                f"{person.id} is a contact of {person.account}: a contact opens cases for their "
                f"own account only, not {fields['account_id']}"
            )
        if fields["contact_id"] != person.id:
            raise Refused(
                f"a contact opens cases for themselves: contact_id must be {person.id} "
                "(or left out)"
            )
        if fields.get("received_by") is not None:
            raise Refused("received_by names the Customer Care agent of a phone case; leave it out")
    elif person.customer_care:
        fields.setdefault("channel", "phone")
        fields.setdefault("received_by", person.id)
        if fields["channel"] != "phone":
            raise Refused(
                f"{person.id} is Customer Care: they open phone cases for callers "
                "(channel phone); a customer opens web cases with their own credential"
            )
        if fields["received_by"] != person.id:
            raise Refused(
                f"received_by is who took the call, the one opening the case: {person.id} "
                "(or leave it out)"
            )
    elif person.kind == "partner_engineer":
        fields.setdefault("channel", "partner")
        fields.setdefault("partner_id", person.partner)
        if fields["channel"] != "partner":
            raise Refused(
                f"{person.id} is an engineer of {person.partner}: a partner opens its customers' "
                "cases with channel partner (P3)"
            )
        if fields["partner_id"] != person.partner:
            raise Refused(
                f"{person.id} opens cases for {person.partner} only, not for "
                f"{fields['partner_id']} (P3)"
            )
    else:
        raise Refused(
            f"{person.id} is {_described(person)}: cases are opened by the account's contacts "
            "(web), Customer Care (phone) and the engineers of a Support Now partner (P3)"
        )
    return fields


def request_id_for(person: Identity, key: str) -> str:
    """The request id an open request's key (its Idempotency-Key, or `request_id`) stands for:
    the caller's own. A contact's keys are their account's (two contacts of one account sending
    one portal request get one case), anyone else's are their own (Customer Care, a partner's
    engineer): the same key from another account is another request, never compared with this
    one. `<scope>:<key>` (`acme:portal-4711`) while that is an id of at most 64 characters,
    otherwise `key-` and 40 hex digits of SHA-256 over the scope and the key; the intake's
    workflow id is `intake-<request id>` and the database's request ids hold 64 characters.
    Directory ids are unique across accounts and people, and a scoped id always has a `:`
    after a scope without one, so no two scopes share a request id."""
    scope = person.account if person.kind == "contact" and person.account else person.id
    readable = f"{scope}:{key}"
    if ":" not in scope and len(readable) <= MAX_REQUEST_ID:
        return readable
    digest = hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()[:40]
    return f"key-{digest}"


MAX_REQUEST_ID = 64
"""An Identifier's length: the request id's bound (casework.domain.models, the store)."""


def action_fields(
    person: Identity, action: str, body: dict[str, Any], acted_for: Identity | None
) -> dict[str, Any]:
    """The payload of `action` for `person`; `acted_for` is the person `on_behalf_of` names
    (None if nobody is named, or if the directory does not know the id). Only Customer Care
    acts for someone else, only for what a phone call records, only for a contact, or for a
    partner's engineer calling to Escalate Now on the partner's vendor escalation (E3, P4: the
    case decides whether they speak for the partner it is for)."""
    for name in FILLED_BY_THE_DOOR:
        if name in body:
            raise BadRequest(
                f"{name} is not a field the door takes: it takes who acts (and who took a call) "
                "from your credential; leave it out (to record a caller's action, Customer Care "
                "sends on_behalf_of)"
            )
    fields = {k: v for k, v in body.items() if k != "on_behalf_of"}
    named = body.get("on_behalf_of")
    _must_be_an_id("on_behalf_of", named)  # the caller's contact id
    if named is None:
        if action == "escalate_now" and fields.get("channel") == "phone":
            raise Refused(
                "a phone escalation is recorded by Customer Care for the caller: send "
                "on_behalf_of with the caller's contact id, or leave channel out to escalate "
                "online yourself"
            )
        return {**fields, "actor": person.id}
    if not person.customer_care:
        raise Refused(
            f"{person.id} is {_described(person)}: only Customer Care (L0) acts for someone "
            "else, recording what a customer asked for by phone; act as yourself, without "
            "on_behalf_of"
        )
    if action not in PHONE_ACTIONS:
        raise Refused(
            f"{action} is not done for someone else: Customer Care records for a caller only "
            f"{', '.join(sorted(PHONE_ACTIONS))}"
        )
    callers = ("contact", "partner_engineer") if action == "escalate_now" else ("contact",)
    if acted_for is None or acted_for.kind not in callers:
        raise Refused(
            f"on_behalf_of {named!r} is not a contact of any account: Customer Care acts only "
            "for a customer's contact (and, for Escalate Now, for a partner's engineer)"
        )
    fields["actor"] = acted_for.id
    if action == "escalate_now":
        fields["channel"] = "phone"
        fields["recorded_by"] = person.id
    return fields


def may_see_case_of(person: Identity, account_id: str, partner_id: str | None) -> str | None:
    """Why `person` may not look at a case of `account_id` at all, or None: a contact sees
    their own account's cases, a partner's engineer their partner's cases (P3) and its vendor
    escalations (P4: `partner_id` is then the partner it is for); our engineers and Escalation
    Managers every case (U5 then decides what of a restricted one they see)."""
    if person.kind == "contact" and person.account != account_id:
        return f"{person.id} is a contact of {person.account}, not of {account_id}"
    if person.kind == "partner_engineer" and partner_id != person.partner:
        return f"{person.id} works {person.partner}'s cases only (P3)"
    return None


def restricted_reason(person: Identity, account_id: str, contacts: set[str]) -> str | None:
    """U5: why `person` may not see a restricted case's content, or None if they may (a
    member of the restricted queue now, or a contact of the account)."""
    if person.restricted_member or person.id in contacts:
        return None
    return (
        f"{person.id} is neither a member of the US citizen restricted queue nor a contact of "
        f"{account_id} (U5)"
    )


def _described(person: Identity) -> str:
    return {
        "contact": f"a contact of {person.account}",
        "engineer": f"an {person.level} engineer",
        "partner_engineer": f"an engineer of {person.partner}",
        "escalation_manager": "an Escalation Manager",
        "support_director": "the support director",
    }[person.kind]
