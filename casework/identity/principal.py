"""A verified principal: who is acting, as a credential says, never as a payload claims.

Workflow code reads the principal of the handler it is in with `current()`; the worker's
interceptor (`casework.identity.interceptors`) sets it from the checked token before the
handler runs. This module is imported passed through the workflow sandbox, so the interceptor
and the workflow see the same context variable.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Literal

from pydantic import BaseModel, ConfigDict

OPERATOR = "operator"
"""Who acts when an update, signal or query reaches a case without a casework token: someone
with access to the Temporal namespace (the Web UI's forms, `temporal workflow update`)."""

Via = Literal["api-key", "oidc", "token", "namespace", "workflow"]
"""How the principal was authenticated; `workflow`: another case of this engine (P4: a partner
case and its vendor escalation signal each other), trusted to name who acted there."""


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    """The authenticated directory id (a contact, engineer, partner engineer or manager), or
    OPERATOR for namespace access."""
    on_behalf_of: str | None = None
    """Acting for someone else (Customer Care recording a caller's Escalate Now or approval):
    the directory id of the person acted for; the record names both."""
    via: Via = "token"
    refused: str | None = None
    """Set when a token came but did not verify: why (forged, expired, for another case). The
    case refuses the action with this reason; nothing is done as anyone."""
    token_id: str | None = None
    """The verified token's id (its `jti`): a case takes each token once."""
    token_expires: int | None = None
    """When the token expires (Unix seconds): until then the case remembers its id."""
    message: Literal["bound", "unbound", "mismatch"] | None = None
    """Whether the token was made for this very message: `bound`, its payload's digest is the
    one the token names; `mismatch`, another payload came with it (a token copied out of a
    history and sent with a payload of one's own); `unbound`, a token that names no digest
    (an older door). None: no token, or a message whose digest is not checked (a query)."""

    @property
    def acting_as(self) -> str:
        return self.on_behalf_of or self.id

    @property
    def is_workflow(self) -> bool:
        return self.via == "workflow"

    @property
    def is_operator(self) -> bool:
        return self.id == OPERATOR

    def describe(self) -> str:
        if self.on_behalf_of:
            return f"{self.id} for {self.on_behalf_of}"
        return self.id


NAMESPACE_OPERATOR = Principal(id=OPERATOR, via="namespace")

_current: ContextVar[Principal | None] = ContextVar("casework_principal", default=None)


def current() -> Principal | None:
    """The verified principal of the handler running now; None outside a checked handler (a
    worker without the interceptor, e.g. a replayer of old histories)."""
    return _current.get()


def set_current(principal: Principal | None) -> object:
    return _current.set(principal)


def reset_current(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
