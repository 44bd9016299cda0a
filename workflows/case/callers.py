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
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from casework.identity import principal as identity
    from casework.identity.principal import NAMESPACE_OPERATOR, OPERATOR, Principal

OPERATOR_NOTE = (
    "this came without a casework credential, so it counts as the namespace operator's "
    "(anyone with access to the Temporal namespace); act through casework with your own key"
)


class Claimed(Exception):
    """The payload names someone other than the credential; the message says so."""


def principal_now() -> Principal:
    """The principal of the running handler; with no token (no principal), the namespace
    operator."""
    return identity.current() or NAMESPACE_OPERATOR


def checked_principal() -> Principal | None:
    """The principal as the interceptor set it, for validators and queries; None outside a
    checked handler."""
    return identity.current()


def as_principal(payload: Any, principal: Principal | None, field: str = "actor") -> Any:
    """The payload with `field` set to who acts. A person's payload that names someone else is
    refused (Claimed); the operator's claimed name is ignored; another case's is kept. No
    principal (a validator outside a checked handler): the payload as it is."""
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


def operator_refusal(principal: Principal, reason: str) -> str:
    """Why the rules refused, with what an operator or a refused token needs to know."""
    if principal.refused:
        return principal.refused
    if principal.id == OPERATOR:
        return f"{reason} ({OPERATOR_NOTE})"
    return reason
