"""The notification outbox: customers, engineers and Escalation Managers (S3).

Every message goes in under an idempotency key, so a retried activity never notifies twice.
The relay (issue 14, `activities/relay.py`) sends it; a new row wakes it (`waker`).
"""

from __future__ import annotations

from temporalio import activity

from activities.ports import NotificationStore
from casework.contracts import (
    ALERT_ESCALATION_MANAGER,
    NOTIFY,
    ManagerAlert,
    ManagerAlertResult,
    Notification,
    NotificationResult,
)
from casework.domain.channels import lanes_to_wake
from casework.domain.routing import manager_on_duty
from casework.notify.waker import RelayWaker


class NotificationActivities:
    def __init__(self, store: NotificationStore, waker: RelayWaker | None = None) -> None:
        self.store = store
        self.waker = waker

    def _wake(self, queued: bool, person_id: str) -> None:
        """Wake the relay's lanes this row goes out on (issue 30): the person's channels as the
        directory has them now (`lanes_to_wake`). A directory that changes before the plan
        costs nothing: the round that plans the row wakes the lanes it planned it on."""
        if not queued or self.waker is None:
            return
        self.waker.wake(lanes_to_wake(self.store.directory.channels(person_id)))

    def _address(self, kind: str, person_id: str) -> str | None:
        if kind == "engineer":
            return self.store.directory.engineer_address(person_id)
        if kind == "contact":
            return self.store.directory.contact_address(person_id)
        if kind == "partner":  # P4: our side of a vendor escalation talks to the partner
            partner = self.store.directory.partner(person_id)
            return (partner.email or partner.phone or partner.url) if partner else None
        if kind == "escalation_manager":  # E3: a rota manager or the support director
            return self.store.directory.escalation_manager_address(person_id)
        return None

    @activity.defn(name=NOTIFY)
    def notify(self, message: Notification) -> NotificationResult:
        address = self._address(message.recipient_kind, message.recipient_id)
        queued = self.store.outbox.add(
            message.key,
            case_id=message.case_id,
            recipient_kind=message.recipient_kind,
            recipient_id=message.recipient_id,
            address=address,
            subject=message.subject,
            body=message.body,
            created_at=message.at,
            restricted=message.restricted,  # U5: the case says so; `casework outbox` obeys
            account_id=message.account_id,
        )
        self._wake(queued, message.recipient_id)
        return NotificationResult(queued=queued, address=address)

    @activity.defn(name=ALERT_ESCALATION_MANAGER)
    def alert_escalation_manager(self, alert: ManagerAlert) -> ManagerAlertResult:
        """S3: the Escalation Manager on duty at `alert.at` is alerted, once per key."""
        manager = manager_on_duty(self.store.directory.rota(), alert.at)
        queued = self.store.outbox.add(
            alert.key,
            case_id=alert.case_id,
            recipient_kind="escalation_manager",
            recipient_id=manager.id,
            address=manager.email or manager.phone,
            subject=alert.subject,
            body=alert.body,
            created_at=alert.at,
            restricted=alert.restricted,
            account_id=alert.account_id,
        )
        self._wake(queued, manager.id)
        return ManagerAlertResult(manager_id=manager.id, manager_name=manager.name, queued=queued)
