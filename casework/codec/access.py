"""Who may read a restricted payload (U5), from the directory as it is now.

The codec sits below the store: it names what it reads of the store (`Directory`, `Realms`,
`Deployment`: the store's repositories answer them) and imports none of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from casework.codec.realm import Realm
from casework.domain.case_ids import intake_id
from casework.domain.directory import Account
from casework.identity.principal import Principal

MayReadRestricted = Callable[[Principal, str | None], bool]


class Directory(Protocol):
    def is_restricted_member(self, person_id: str) -> bool: ...
    def account(self, account_id: str) -> Account | None: ...


class Realms(Protocol):
    def register(self, workflow_id: str, account_id: str, restricted: bool) -> Realm: ...


class Deployment(Protocol):
    """What the codec reads of the deployment's database (casework.store.Store)."""

    @property
    def directory(self) -> Directory: ...
    @property
    def realms(self) -> Realms: ...


def restricted_reader(store: Deployment) -> MayReadRestricted:
    """`may_read_restricted(principal, account_id)` over `store`'s directory: U5, a member of
    the restricted queue (U2/U7: verified citizenship, authorised location) or a contact of
    the account whose data it is. Asked of the authenticated person themselves: acting for a
    customer (`on_behalf_of`) lends no right to read; an operator (namespace access) has none;
    an unknown account (a payload of an unregistered workflow) only the members may read."""

    def may_read_restricted(principal: Principal, account_id: str | None) -> bool:
        if principal.is_operator or principal.refused:
            return False
        if store.directory.is_restricted_member(principal.id):
            return True
        if account_id is None:
            return False
        account = store.directory.account(account_id)
        return account is not None and any(c.id == principal.id for c in account.contacts)

    return may_read_restricted


def register_intake_realm(store: Deployment, request_id: str, account_id: str) -> Realm | None:
    """Before starting an intake (`casework.client.open_case`), the door records its realm, so
    the intake's input (the description) is encrypted with the account's keys and readable at
    the codec server by the account's contacts, not only by the restricted queue. An unknown
    account registers nothing: the intake refuses it, and its payloads stay restricted without
    an account (fail closed)."""
    account = store.directory.account(account_id)
    if account is None:
        return None
    return store.realms.register(intake_id(request_id), account.id, account.us_citizen_support)
