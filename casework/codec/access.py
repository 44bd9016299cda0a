"""Who may read a restricted payload (U5), from the directory as it is now."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from casework.identity.principal import Principal

if TYPE_CHECKING:
    from casework.store import Store

MayReadRestricted = Callable[[Principal, str | None], bool]


def restricted_reader(store: Store) -> MayReadRestricted:
    """`may_read_restricted(principal, account_id)` over `store`'s directory: U5, a member of
    the restricted queue (U2/U7: verified citizenship, authorised location) or a contact of
    the account whose data it is. Asked of the authenticated person themselves: acting for a
    customer (`on_behalf_of`) lends no right to read; an operator (namespace access) has none;
    an unknown account (a payload of an unregistered workflow) only the members may read."""

    def may_read_restricted(principal: Principal, account_id: str | None) -> bool:
        if principal.is_operator or principal.refused:
            return False
        if principal.id in store.directory.restricted_members():
            return True
        if account_id is None:
            return False
        account = store.directory.account(account_id)
        return account is not None and any(c.id == principal.id for c in account.contacts)

    return may_read_restricted
