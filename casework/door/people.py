"""Who a directory id is, as the door needs to know it: a contact of an account, one of our
engineers (Customer Care among them), a partner's engineer, an Escalation Manager or the
support director. Read from the store; the rules that use it are in `casework.door.rules`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from casework.domain.models import Level
from casework.domain.us_citizen import is_restricted_member
from casework.identity.principal import Via
from casework.store import Store

Kind = Literal["contact", "engineer", "partner_engineer", "escalation_manager", "support_director"]


class Identity(BaseModel):
    """`GET /v1/whoami`: who the credential belongs to, as the directory knows them now."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: Kind
    name: str
    account: str | None = None
    """A contact's account."""
    partner: str | None = None
    """A partner engineer's partner (P3)."""
    level: str | None = None
    """An engineer's level (E1)."""
    approver: bool = False
    """A contact authorised to approve or decline sharing logs (U6)."""
    restricted_member: bool = False
    """A member of the US citizen restricted queue now (U2, U7)."""
    customer_care: bool = False
    """A Customer Care (L0) engineer: may open phone cases and act for a caller (E1, E3)."""
    via: Via = "api-key"


def identify(store: Store, directory_id: str, via: Via) -> Identity | None:
    """The person `directory_id` names, or None if the directory has no such person.

    Our reading of Customer Care (E1): our own L0 engineers, not a partner's (their L0 works
    only their partner's cases, P3) and not the restricted queue's (a team of its own, U2)."""
    directory = store.directory
    engineer = directory.engineer(directory_id)
    if engineer is not None:
        member = is_restricted_member(engineer, directory.authorised_locations())
        return Identity(
            id=engineer.id,
            kind="partner_engineer" if engineer.partner else "engineer",
            name=engineer.name,
            partner=engineer.partner,
            level=engineer.level.value,
            restricted_member=member,
            customer_care=engineer.level is Level.L0
            and engineer.partner is None
            and not engineer.restricted_queue_only,
            via=via,
        )
    contact = _contact(store, directory_id)
    if contact is not None:
        return contact.model_copy(update={"via": via})
    for manager in directory.rota():
        if manager.id == directory_id:
            return Identity(id=manager.id, kind="escalation_manager", name=manager.name, via=via)
    director = directory.support_director()
    if director is not None and director.id == directory_id:
        return Identity(id=director.id, kind="support_director", name=director.name, via=via)
    return None


def _contact(store: Store, contact_id: str) -> Identity | None:
    found = store.directory.contact(contact_id)
    if found is None:
        return None
    account_id, contact = found
    return Identity(
        id=contact.id,
        kind="contact",
        name=contact.name,
        account=account_id,
        approver=contact.approver,
    )


def directory_ids(store: Store) -> list[str]:
    """Every person of the directory who may hold a credential, for `casework up`'s demo keys."""
    directory = store.directory
    ids = [c.id for a in directory.accounts() for c in a.contacts]
    ids += [e.id for e in directory.engineers()]
    ids += [m.id for m in directory.rota()]
    director = directory.support_director()
    if director is not None:
        ids.append(director.id)
    return ids


def zone_of_person(store: Store, person: Identity) -> str | None:
    """The zone `person` reads times in (issue 26), as the directory keeps it: a contact's own
    zone, an engineer's (a premium expert's business-hours zone, else their shift's), an
    Escalation Manager's shift's; None (UTC) for anyone else or a zone never given."""
    directory = store.directory
    if person.kind == "contact":
        found = directory.contact(person.id)
        return found[1].zone if found else None
    if person.kind in ("engineer", "partner_engineer"):
        engineer = directory.engineer(person.id)
        return (engineer.zone or engineer.shift.zone) if engineer else None
    if person.kind == "escalation_manager":
        manager = next((m for m in directory.rota() if m.id == person.id), None)
        return manager.shift.zone if manager else None
    return None
