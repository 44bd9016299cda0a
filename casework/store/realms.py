"""Case realms: which workflows carry a US Citizen Support customer's data (U5), so the payload
codec (`casework.codec`) encrypts their payloads with the restricted keys.

A realm is written once, before the workflow it names starts (the intake activity registers
the case it numbers; the door registers `intake-<request_id>` before it starts an intake), and
never changes: an account that buys or drops US Citizen Support later changes its new cases,
not the realm of the old ones.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from casework.codec.realm import Realm
from casework.store.base import Repository
from casework.store.dialect import insert_or_nothing
from casework.store.tables import case_realms


class RealmRepository(Repository):
    def register(self, workflow_id: str, account_id: str, restricted: bool) -> Realm:
        """Record the realm of `workflow_id`; idempotent: the first registration is the one
        kept (a retried intake registers again), and it is returned."""
        with self.engine.begin() as conn:
            new = {
                "workflow_id": workflow_id,
                "account_id": account_id,
                "restricted": restricted,
                "created_at": datetime.now(UTC),
            }
            insert_or_nothing(conn, case_realms, new, key=[case_realms.c.workflow_id])
            row = conn.execute(
                select(case_realms.c.account_id, case_realms.c.restricted).where(
                    case_realms.c.workflow_id == workflow_id
                )
            ).one()
        return Realm(restricted=bool(row.restricted), account_id=row.account_id)

    def lookup(self, workflow_id: str) -> Realm | None:
        """The realm registered for `workflow_id`, or None (the codec then fails closed)."""
        query = select(case_realms.c.account_id, case_realms.c.restricted).where(
            case_realms.c.workflow_id == workflow_id
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return Realm(restricted=bool(row.restricted), account_id=row.account_id)
