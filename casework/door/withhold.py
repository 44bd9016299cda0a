"""U5 on what an action answers (issue 24). What a case answers to an action, and why it refused
one, is the case's content: the answer names files, and a refusal is a feed entry that `show`
withholds. So whoever `show` withholds a restricted case's content from (neither a member of
the restricted queue now nor a contact of the account: `rules.restricted_reason`) is told that
the action was done, or refused, and not what the case said. Customer Care recording a US
Citizen Support customer's approval by phone (E3, U6) is told it is recorded, not which files
it shares. The realm of the case (restricted or not, whose) is the one the codec uses: an
unknown one is restricted, with no account (fail closed)."""

from __future__ import annotations

from collections.abc import Awaitable

from sqlalchemy.exc import SQLAlchemyError

from casework.codec.realm import UNKNOWN
from casework.domain.actions import ActionResult
from casework.door.errors import DoorError
from casework.door.people import Identity
from casework.door.rules import restricted_reason
from casework.door.service import Door

CASE_REFUSALS = (409, 422)
"""The answers that carry the case's own sentence (a refusal, a payload it would not take)."""


async def as_u5_allows(
    door: Door, person: Identity, case_id: str, action: str, answer: Awaitable[ActionResult]
) -> ActionResult:
    """`answer` (the case's answer to `person`'s `action`) as U5 lets `person` read it."""
    try:
        result = await answer
    except DoorError as e:
        if e.status not in CASE_REFUSALS or (why := await _withheld(door, person, case_id)) is None:
            raise
        raise DoorError(
            e.status,
            f"{action} refused on {case_id}; why is withheld from you: {why}",
            headers=e.headers,
        ) from None
    why = await _withheld(door, person, case_id)
    if why is None:
        return result
    return result.model_copy(
        update={"message": f"{action} done on {case_id}; what the case answered is withheld: {why}"}
    )


async def _withheld(door: Door, person: Identity, case_id: str) -> str | None:
    """Why the case's content is withheld from `person`, or None. The action is done by now:
    a database that does not answer withholds (fail closed) rather than fail the answer."""
    try:  # a vendor escalation's realm is its partner case's (P4)
        realm = await door.realms.realm_of(case_id)
        if not realm.restricted:
            return None
        contacts = await door.contacts_of(realm.account_id) if realm.account_id else set()
    except SQLAlchemyError:
        realm, contacts = UNKNOWN, set()
    return restricted_reason(person, realm.account_id or "the case's account", contacts)
