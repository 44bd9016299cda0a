"""Activities for customer escalations (E3) and the breach alert (S3): who is on the ladder,
and the shared `escalations` table that `casework report` counts."""

from __future__ import annotations

from collections.abc import Callable

from temporalio import activity

from activities.directory import refuse
from activities.ports import EscalationStore
from casework.contracts import (
    PLAN_ESCALATION,
    RECORD_ESCALATION,
    EscalationPlan,
    EscalationPlanRequest,
    EscalationRecord,
    Notification,
)
from casework.domain.escalation import alert_text, ladder
from casework.domain.models import EscalationStep, Level
from casework.domain.sla import SlaPolicy


class EscalationActivities:
    def __init__(
        self,
        store: EscalationStore,
        policy: SlaPolicy,
        notify: Callable[[Notification], object] | None = None,
    ) -> None:
        """`notify`: the outbox's activity, for a plan that alerts its first manager at once
        (the breach alert); without it such a plan is refused."""
        self.store = store
        self.policy = policy
        self.notify = notify

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
        plan = EscalationPlan(
            ladder=[EscalationStep(id=i, name=n) for i, n in steps],
            acknowledge_within=self.policy.escalation_acknowledge_within,
            has_catch_all=director is not None,
        )
        if request.alert is not None and plan.ladder:
            self._alert_first(request, plan)
        return plan

    def _alert_first(self, request: EscalationPlanRequest, plan: EscalationPlan) -> None:
        """S3: the breach alert, to the manager the ladder starts with, in the words and
        under the key the case uses for that step (casework.domain.escalation.alert_text)."""
        alert = request.alert
        assert alert is not None
        if self.notify is None:
            raise RuntimeError("plan_escalation was asked to alert, but has no outbox")
        subject, body = alert_text(
            case_id=request.case_id,
            escalation_id=alert.escalation_id,
            reason=alert.reason,
            note=alert.note,
            summary=alert.summary,
            acknowledge_within=plan.acknowledge_within,
        )
        self.notify(
            Notification(
                key=alert.key,
                case_id=request.case_id,
                recipient_kind="escalation_manager",
                recipient_id=plan.ladder[0].id,
                subject=subject,
                body=body,
                at=request.at,
                restricted=alert.restricted,
                account_id=alert.account_id,
            )
        )

    @activity.defn(name=RECORD_ESCALATION)
    def record_escalation(self, record: EscalationRecord) -> None:
        """The escalation as the case knows it now, written whole (safe to retry)."""
        self.store.escalations.record(record.model_dump())
