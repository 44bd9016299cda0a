"""Who is acting on the case: the verified principal, never a name a payload claims.

The worker's interceptor (`casework.identity.interceptors`) checks the token the door signed
and sets the principal of each update, signal and query before its handler runs. Here the case
turns it into the actor its rules see:
- a person through the door: that person (or, acting for someone, the person acted for, and
  the feed says who recorded it);
- another case of this engine (P4 signals between a partner case and its vendor escalation):
  the actor that case names, as that case authenticated it;
- no token (the Web UI's forms, `temporal workflow update/signal/query`): the namespace
  operator, who may do none of the actions reserved to a customer, a member of the restricted
  queue or the owning engineer, and sees a restricted case withheld (U5).
A case started before the VERIFIED_PRINCIPAL patch keeps believing the payload, as it did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from casework.identity import principal as identity
    from casework.identity.principal import NAMESPACE_OPERATOR, OPERATOR, Principal

from workflows.case.patches import VERIFIED_PRINCIPAL

OPERATOR_NOTE = (
    "this came without a casework credential, so it counts as the namespace operator's "
    "(anyone with access to the Temporal namespace); act through casework with your own key"
)


class Claimed(Exception):
    """The payload names someone other than the credential; the message says so."""


def principal_now(verified: bool) -> Principal | None:
    """The principal of the running handler. `verified`: the case runs with the
    VERIFIED_PRINCIPAL patch (read once, at the start of the run: see `patched_at_start`);
    without it, None (believe the payload, as before). No principal in a handler of a
    patched case (no token): the namespace operator."""
    if not verified:
        return None
    return identity.current() or NAMESPACE_OPERATOR


def checked_principal() -> Principal | None:
    """The principal as the interceptor set it, for code that may not consult the patch
    (validators, queries); None outside a checked handler."""
    return identity.current()


def patched_at_start(patched: Callable[[str], bool]) -> bool:
    """Whether this run acts on verified principals. Asked once when the run starts: a patch
    marker recorded inside an update handler does not replay (the update's state machine
    meets it), so handlers never ask the patch themselves."""
    return patched(VERIFIED_PRINCIPAL)


def as_principal(payload: Any, principal: Principal | None, field: str = "actor") -> Any:
    """The payload with `field` set to who acts. A person's payload that names someone else is
    refused (Claimed); the operator's claimed name is ignored; another case's is kept."""
    if principal is None or not isinstance(payload, dict) or principal.is_workflow:
        return payload
    acting = principal.acting_as
    claimed = payload.get(field)
    if claimed is not None and claimed != acting and not principal.is_operator:
        raise Claimed(
            f"the request names {claimed!r} as {field}, but its credential is "
            f"{principal.describe()}'s; leave {field} out, the credential says who acts"
        )
    return {**payload, field: acting}


def operator_refusal(principal: Principal | None, reason: str) -> str:
    """Why the rules refused, with what an operator or a refused token needs to know."""
    if principal is None:
        return reason
    if principal.refused:
        return principal.refused
    if principal.id == OPERATOR:
        return f"{reason} ({OPERATOR_NOTE})"
    return reason
