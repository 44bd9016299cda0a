"""Activities for customer escalations (E3) and the breach alert (S3): who is on the ladder,
and the shared `escalations` table that `casework report` counts."""

from __future__ import annotations

from temporalio import activity

from activities.directory import refuse
from casework.contracts import (
    PLAN_ESCALATION,
    RECORD_ESCALATION,
    EscalationPlan,
    EscalationPlanRequest,
    EscalationRecord,
)
from casework.domain.escalation import ladder
from casework.domain.models import EscalationStep, Level
from casework.domain.sla import SlaPolicy
from casework.store import Store


class EscalationActivities:
    def __init__(self, store: Store, policy: SlaPolicy) -> None:
        self.store = store
        self.policy = policy

    @activity.defn(name=PLAN_ESCALATION)
    def plan_escalation(self, request: EscalationPlanRequest) -> EscalationPlan:
        """E3: by phone, Customer Care records the escalation: `recorded_by` must be an L0
        engineer of the directory. The ladder starts with the manager on duty at `at`."""
        if request.recorded_by is not None:
            engineer = self.store.directory.engineer(request.recorded_by)
            if engineer is None or engineer.level is not Level.L0:
                what = f"an {engineer.level.value} engineer" if engineer else "not in the directory"
                raise refuse(
                    "NotCustomerCare",
                    f"{request.recorded_by} is {what}: a phone escalation is recorded by a "
                    "Customer Care (L0) engineer (E3)",
                )
        director = self.store.directory.support_director()
        steps = ladder(self.store.directory.rota(), director, request.at)
        return EscalationPlan(
            ladder=[EscalationStep(id=i, name=n) for i, n in steps],
            acknowledge_within=self.policy.escalation_acknowledge_within,
            has_catch_all=director is not None,
        )

    @activity.defn(name=RECORD_ESCALATION)
    def record_escalation(self, record: EscalationRecord) -> None:
        """The escalation as the case knows it now, written whole (safe to retry)."""
        self.store.escalations.record(record.model_dump())
