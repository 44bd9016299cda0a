"""The SLA policies the engine's workers run under (issue 30).

A worker publishes its policy as it starts (`publish`); a door that runs alone reads the newest
(`current`) at each opening, so the entitlement it starts a case with is decided under the
policy the workers run, never under a copy the door loaded at its own start. Rows are keyed by
the policy's digest: a worker that starts again with the same policy only moves its time on.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select

from casework.domain.sla import SlaPolicy
from casework.store.base import Repository, utc
from casework.store.dialect import insert_or_update
from casework.store.tables import policies


def digest_of(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


class PolicyRepository(Repository):
    _cached: tuple[str, SlaPolicy] | None = None

    def publish(self, policy: SlaPolicy, at: datetime) -> str:
        """Record `policy` as the newest the workers run under; its digest."""
        body = policy.model_dump_json()
        digest = digest_of(body)
        with self.engine.begin() as conn:
            insert_or_update(
                conn,
                policies,
                {"digest": digest, "body": body, "published_at": utc(at)},
                key=[policies.c.digest],
                changes=lambda new: {"published_at": new.published_at},
                where=lambda new: policies.c.published_at < new.published_at,
            )
        return digest

    def current(self) -> SlaPolicy | None:
        """The policy the newest worker published; None before any worker started. One small
        query when it is the one read last time (its parsed form is kept)."""
        newest = select(policies.c.digest).order_by(policies.c.published_at.desc()).limit(1)
        with self.engine.connect() as conn:
            digest = conn.execute(newest).scalar()
            if digest is None:
                return None
            cached = self._cached
            if cached is not None and cached[0] == digest:
                return cached[1]
            body = conn.execute(
                select(policies.c.body).where(policies.c.digest == digest)
            ).scalar_one()
        policy = SlaPolicy.model_validate_json(body)
        self._cached = (digest, policy)
        return policy
