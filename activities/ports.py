"""What each group of activities needs of the database: small `typing.Protocol`s, one per
group, so an activity depends on the few reads and writes it makes, not on the concrete
`casework.store.Store` (which satisfies every one of them, structurally: nothing here is
inherited). A test can hand a group a stand-in that has just these methods; another store
implements these and the worker runs on it.

Each protocol is shaped like the store: `store.directory`, `store.outbox`, ... each a small
protocol of the methods used. The writes keep the store's promises (idempotent on their key,
ordered where the store says so; see "Who may write" in workflows/case/context.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from casework.codec.realm import Realm
from casework.domain.channels import Channels
from casework.domain.directory import (
    Account,
    Contact,
    Engineer,
    EscalationManager,
    Partner,
    SupportDirector,
)
from casework.domain.sla import SlaPolicy
from casework.store.deliveries import Outcome, Plan

# --- the pieces: one concern of the database each ----------------------------------------------


class Outbox(Protocol):
    def add(self, key: str, **fields: Any) -> bool:
        """Queue one notification; False if this key was queued before (the first is kept)."""
        ...


class People(Protocol):
    """Who someone of the directory is (E1, E3)."""

    def engineer(self, engineer_id: str) -> Engineer | None: ...

    def partner(self, partner_id: str) -> Partner | None: ...

    def rota(self) -> list[EscalationManager]: ...

    def support_director(self) -> SupportDirector | None: ...


class Customers(Protocol):
    def account(self, account_id: str) -> Account | None: ...

    def contact_address(self, contact_id: str) -> str | None: ...


class RestrictedQueue(Protocol):
    """U2, U7: who may work restricted cases, and from where."""

    def restricted_members(self) -> list[str]: ...

    def authorised_locations(self) -> list[str]: ...


class Assignments(Protocol):
    """E1: who works which case."""

    def open_case_counts(self) -> dict[str, int]: ...

    def record_assignment(
        self, key: str, case_id: str, engineer_id: str, level: str, at: datetime
    ) -> str: ...

    def release_assignments(self, case_id: str, at: datetime) -> int: ...


# --- intake and routing (activities/directory.py) ----------------------------------------------


class IntakeDirectory(People, Customers, RestrictedQueue, Protocol):
    def product_names(self) -> list[str]: ...

    def engineers(self) -> list[Engineer]: ...


class CaseNumbers(Protocol):
    def allocate_case_number(self, request_id: str, at: datetime) -> tuple[int, bool]: ...

    def record_referral(
        self, request_id: str, account: str, contact: str, partner: str, channel: str, at: datetime
    ) -> tuple[dict[str, Any], bool]: ...


class Policies(Protocol):
    def publish(self, policy: SlaPolicy, at: datetime) -> str: ...

    def current(self) -> SlaPolicy | None: ...


class Realms(Protocol):
    def register(self, workflow_id: str, account_id: str, restricted: bool) -> Realm: ...


class IntakeStore(Protocol):
    """DirectoryActivities: intake (A1-A5, P2), routing (E1, U2, P3), release, the checks."""

    @property
    def directory(self) -> IntakeDirectory: ...

    @property
    def intake(self) -> CaseNumbers: ...

    @property
    def realms(self) -> Realms: ...

    @property
    def policies(self) -> Policies: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def tracker(self) -> Assignments: ...


# --- escalations and notifications (activities/escalation.py, notifications.py) ----------------


class Escalations(Protocol):
    def record(self, row: dict[str, Any]) -> None: ...


class EscalationStore(Protocol):
    """EscalationActivities: the ladder (E3) and the escalations table (S3)."""

    @property
    def directory(self) -> People: ...

    @property
    def escalations(self) -> Escalations: ...


class Addresses(People, Protocol):
    def engineer_address(self, engineer_id: str) -> str | None: ...

    def contact_address(self, contact_id: str) -> str | None: ...

    def escalation_manager_address(self, person_id: str) -> str | None: ...

    def channels(self, person_id: str) -> Channels | None: ...


class NotificationStore(Protocol):
    """NotificationActivities: the outbox, addressed from the directory."""

    @property
    def directory(self) -> Addresses: ...

    @property
    def outbox(self) -> Outbox: ...


# --- the case's own records (activities/feed.py, reporting.py, tracker.py) ---------------------


class Feed(Protocol):
    def append(
        self, case_id: str, entries: list[dict[str, Any]], *, restricted: bool = False
    ) -> int: ...


class Subscriptions(Protocol):
    def active(self) -> list[dict[str, Any]]: ...


class FeedStore(Protocol):
    """FeedActivities: the feed (E4), and the webhooks that subscribe to its events."""

    @property
    def feed(self) -> Feed: ...

    @property
    def webhooks(self) -> Subscriptions: ...

    @property
    def outbox(self) -> Outbox: ...


class CaseFacts(Protocol):
    def record_case_facts(self, facts: dict[str, Any]) -> bool: ...


class CaseRows(Protocol):
    def record(self, row: dict[str, Any]) -> bool: ...


class ReportingStore(Protocol):
    @property
    def reporting(self) -> CaseFacts: ...

    @property
    def case_rows(self) -> CaseRows: ...


class ProblemReports(Protocol):
    def file_problem_report(
        self, key: str, case_id: str, summary: str, filed_by: str, at: datetime
    ) -> str: ...


class TrackerStore(Protocol):
    """TrackerActivities: Problem Reports (E2)."""

    @property
    def tracker(self) -> ProblemReports: ...


class LogApprovals(Protocol):
    def record_log_approval(
        self,
        request_id: str,
        case_id: str,
        logs: list[str],
        status: str,
        decided_by: str | None,
        decided_at: datetime | None,
    ) -> None: ...

    def share_logs(
        self,
        request_id: str,
        case_id: str,
        pr_id: str,
        logs: list[dict[str, str]],
        at: datetime,
    ) -> list[str]:
        """U6: raises casework.store.tracker.LogSharingRefused, sharing nothing, when no
        recorded approval covers these logs for this PR."""
        ...


class LogSharingStore(Protocol):
    """LogSharingActivities: the customer's answers and the logs shared under them (U6)."""

    @property
    def tracker(self) -> LogApprovals: ...


# --- the relay (activities/relay.py) -----------------------------------------------------------


class Deliveries(Protocol):
    def unplanned(self, limit: int) -> list[dict[str, Any]]: ...

    def plan(
        self, plans: list[Plan], rows: dict[int, dict[str, Any]], now: datetime
    ) -> list[int]: ...

    def due(
        self, lane: str, now: datetime, limit: int, lease: Callable[[int], timedelta]
    ) -> tuple[str, list[dict[str, Any]]]: ...

    def release(self, token: str) -> None: ...

    def record_many(self, outcomes: list[Outcome]) -> list[str]: ...

    def next_due(self, lane: str | None = None) -> datetime | None: ...


class OutboxRows(Protocol):
    def row(self, row_id: int) -> dict[str, Any] | None: ...


class Recipients(People, RestrictedQueue, Protocol):
    """Who a notification goes to and how they are reached now (issue 14), U5's readers."""

    def account(self, account_id: str) -> Account | None: ...

    def contact(self, contact_id: str) -> tuple[str, Contact] | None: ...

    def channels(self, person_id: str) -> Channels | None: ...


class WebhookSecrets(Protocol):
    def secret(self, webhook_id: str) -> str | None: ...


class RelayStore(Protocol):
    """RelayActivities: the outbox's deliveries per channel (issues 14, 27)."""

    @property
    def deliveries(self) -> Deliveries: ...

    @property
    def outbox(self) -> OutboxRows: ...

    @property
    def directory(self) -> Recipients: ...

    @property
    def webhooks(self) -> WebhookSecrets: ...


# --- a worker's: every group's needs at once (worker.activities_for) ---------------------------


class WorkerDirectory(IntakeDirectory, Addresses, Recipients, Protocol):
    pass


class WorkerOutbox(Outbox, OutboxRows, Protocol):
    pass


class WorkerTracker(Assignments, ProblemReports, LogApprovals, Protocol):
    pass


class WorkerWebhooks(Subscriptions, WebhookSecrets, Protocol):
    pass


class WorkerStore(
    IntakeStore,
    EscalationStore,
    NotificationStore,
    FeedStore,
    ReportingStore,
    TrackerStore,
    LogSharingStore,
    RelayStore,
    Protocol,
):
    """What a worker's activities need of the database, all groups together."""

    @property
    def directory(self) -> WorkerDirectory: ...

    @property
    def outbox(self) -> WorkerOutbox: ...

    @property
    def tracker(self) -> WorkerTracker: ...

    @property
    def webhooks(self) -> WorkerWebhooks: ...
