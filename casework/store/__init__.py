"""The engine's database: one engine, one repository per group of tables.

    store = Store(url)
    store.directory    products, accounts, contacts, partners, engineers, authorised
                       locations, the Escalation Managers' rota, the support director
    store.intake       case numbers, referrals (P2)
    store.policies     the SLA policies the workers run under, newest first (issue 30)
    store.tracker      assignments (E1), Problem Reports (E2), log approvals and shared logs (U6)
    store.outbox       notifications
    store.deliveries   the relay's progress per notification and channel (issue 27)
    store.escalations  escalations (E3, S3)
    store.reporting    case facts for `casework report`
    store.feed         every case's feed (E4), appended by the case, read a page at a time
    store.case_rows    the case list's rows (issue 26): paged, sorted, searched
    store.api_keys     the door's API keys, stored hashed (issue 10)
    store.audit        every read of restricted content, granted or refused (U5)
    store.realms       which workflows carry a restricted customer's data (U5, casework.codec)
    store.webhooks     integrations' subscriptions to case events (issue 14)

SQLAlchemy Core over SQLite by default (a file in the state folder); a PostgreSQL URL works the
same. The schema is Alembic's (casework/store/migrations/): `Store(url)` upgrades a database
that is behind, once; `migrate(url)` does it on its own. Only activities (and the operator's
commands) use the store: workflows never touch the database. Every method is a small
transaction, safe to retry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from casework.store.api_keys import ApiKeyRepository
from casework.store.audit import AuditRepository
from casework.store.case_rows import CaseRowRepository
from casework.store.deliveries import DeliveryRepository
from casework.store.dialect import open_engine
from casework.store.directory import DirectoryRepository
from casework.store.escalations import EscalationRepository
from casework.store.feed import FeedRepository
from casework.store.intake import IntakeRepository, referral_id_for
from casework.store.outbox import OutboxRepository
from casework.store.policies import PolicyRepository
from casework.store.realms import RealmRepository
from casework.store.reporting import ReportingRepository
from casework.store.schema import HEAD, ensure_current, migrate
from casework.store.tracker import LogSharingRefused, TrackerRepository, pr_id_for
from casework.store.webhooks import WebhookRepository

if TYPE_CHECKING:
    from casework.identity.keyring import KeyRing

__all__ = ["HEAD", "LogSharingRefused", "Store", "migrate", "pr_id_for", "referral_id_for"]


class Store:
    """One database: one engine, shared by its repositories. Constructing it costs one query
    when the schema is current (see casework.store.schema)."""

    def __init__(self, url: str, ring: KeyRing | None = None) -> None:
        """`ring`: the deployment's key ring, to seal a restricted case's texts (outbox bodies,
        feed texts) as they are written and unseal them as they are read (U5). Without it,
        sealed texts are read as they are stored, and writing a restricted one is refused."""
        self.url = url
        self.ring = ring
        self.engine: Engine = open_engine(url)
        ensure_current(self.engine)
        self.directory = DirectoryRepository(self.engine)
        self.intake = IntakeRepository(self.engine)
        self.policies = PolicyRepository(self.engine)
        self.tracker = TrackerRepository(self.engine, ring)
        self.outbox = OutboxRepository(self.engine, ring)
        self.deliveries = DeliveryRepository(self.engine, ring)
        self.escalations = EscalationRepository(self.engine)
        self.reporting = ReportingRepository(self.engine)
        self.feed = FeedRepository(self.engine, ring)
        self.case_rows = CaseRowRepository(self.engine, ring)
        self.api_keys = ApiKeyRepository(self.engine)
        self.audit = AuditRepository(self.engine)
        self.realms = RealmRepository(self.engine)
        self.webhooks = WebhookRepository(self.engine, ring)

    def dispose(self) -> None:
        self.engine.dispose()
