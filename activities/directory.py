"""Activities over the directory: intake (A1-A3, S1) and skill-based routing (E1)."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from casework.contracts import (
    INTAKE,
    RELEASE_CASE,
    ROUTE_CASE,
    ReleaseRequest,
    RouteRequest,
    RouteResult,
)
from casework.domain.models import (
    Assignment,
    Entitlement,
    IntakeResult,
    OpenCaseRequest,
    case_id_for,
)
from casework.domain.routing import choose_engineer, queue_for, required_skills
from casework.domain.sla import SlaPolicy
from casework.store import Store


def refuse(kind: str, message: str) -> ApplicationError:
    """A business refusal: never retried, shown to the caller as it is."""
    return ApplicationError(message, type=kind, non_retryable=True)


class DirectoryActivities:
    def __init__(self, store: Store, policy: SlaPolicy) -> None:
        self.store = store
        self.policy = policy

    @activity.defn(name=INTAKE)
    def intake(self, request: OpenCaseRequest) -> IntakeResult:
        """Check the account, contact and product; allocate the case number (idempotent by
        request id); resolve the entitlement (tier and S1 targets from the loaded policy)."""
        account = self.store.account(request.account_id)
        if account is None:
            raise refuse(
                "UnknownAccount",
                f"unknown account {request.account_id!r}: check the account id "
                "(`casework directory accounts` lists them)",
            )
        contact = next((c for c in account.contacts if c.id == request.contact_id), None)
        if contact is None:
            raise refuse(
                "UnknownContact",
                f"{request.contact_id!r} is not a contact of account {account.id} "
                f"({account.name}); its contacts are: {', '.join(c.id for c in account.contacts)}",
            )
        products = self.store.product_names()
        product = next((p for p in products if p.casefold() == request.product.casefold()), None)
        if product is None:
            raise refuse(
                "UnknownProduct",
                f"unknown product {request.product!r}; supported products: {', '.join(products)}",
            )
        number, _ = self.store.allocate_case_number(request.request_id, _now())
        return IntakeResult(
            case_id=case_id_for(number),
            request=request.model_copy(update={"product": product}),
            account_name=account.name,
            contact_name=contact.name,
            account_contacts=[c.id for c in account.contacts],
            entitlement=Entitlement(
                tier=account.tier,
                targets=self.policy.targets_for(account.tier),
                routing_retry=self.policy.routing_retry,
            ),
        )

    @activity.defn(name=ROUTE_CASE)
    def route_case(self, request: RouteRequest) -> RouteResult:
        """E1: pick an engineer of the case's level with its skills, on shift at `request.at`,
        and record the assignment (idempotent per case, level and attempt)."""
        queue = queue_for(request.level)
        skills = required_skills(request.product, request.category)
        engineer = choose_engineer(
            self.store.engineers(),
            level=request.level,
            skills=skills,
            at=request.at,
            open_cases=self.store.open_case_counts(),
        )
        if engineer is None:
            return RouteResult(
                assignment=None,
                queue=queue,
                reason=(
                    f"no {request.level.value} engineer with skills {', '.join(skills)} is on shift"
                ),
            )
        key = f"{request.case_id}:{request.level.value}:{request.attempt}"
        chosen_id = self.store.record_assignment(
            key, request.case_id, engineer.id, request.level.value, request.at
        )
        chosen = self.store.engineer(chosen_id) or engineer
        return RouteResult(
            assignment=Assignment(
                engineer_id=chosen.id, engineer_name=chosen.name, level=chosen.level, queue=queue
            ),
            queue=queue,
        )

    @activity.defn(name=RELEASE_CASE)
    def release_case(self, request: ReleaseRequest) -> int:
        """The case is closed: its engineer's load goes down."""
        return self.store.release_assignments(request.case_id, request.at)


def _now() -> datetime:
    return datetime.now(UTC)
