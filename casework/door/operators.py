"""Who may use the door's operator routes: the people the deployment names in
CASEWORK_OPERATORS (directory ids, comma-separated), authenticated like everyone else; anyone
else is refused with 403, saying who may. The door has no operator role of its own (the
namespace's operator is whoever reaches Temporal). Webhooks (issue 14) and versions (issue 28)
are operators' routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from casework.door.errors import DoorError
from casework.door.people import Identity
from casework.door.service import Door
from casework.settings import environment

OPERATORS_ENV = "CASEWORK_OPERATORS"


def operator_ids() -> set[str]:
    return set(environment().operators)


def operators_only(may: str, instead: str) -> Callable[[Request], Awaitable[Identity]]:
    """A dependency: the authenticated person if an operator, else 403 saying that only the
    deployment's operators `may` (like "manage webhooks") and what to do `instead`."""

    async def operator(request: Request) -> Identity:
        door: Door = request.app.state.door
        person = await door.person(request.headers.get("authorization"))
        if person.id not in operator_ids():
            raise DoorError(
                403,
                f"{person.id} may not {may}: only the deployment's operators "
                f"({OPERATORS_ENV}) may; ask one, or {instead}",
            )
        return person

    return operator
