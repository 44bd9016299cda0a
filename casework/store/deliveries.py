"""The relay's progress per channel (issue 27): each channel (email, chat, page, webhook) is a
lane of its own, so that a slow webhook receiver never holds an Escalation Manager's mail or
page (E3, S3).

`deliveries` holds one row per outbox row and channel: its status (pending, delivered, dead),
attempts, consecutive failures, next retry, error and delivery time. A lane reads only its own
channel's due rows (`due`) and records each outcome as it comes (`record`). The relay *plans* an
outbox row the first time it takes it (`unplanned`, `plan`): the recipient's channels as the
directory says then (a webhook row: `webhook`), or dead at once when there are none.

The outbox row keeps the summary every reader knows (`casework outbox`, the door, the metrics):
`status` delivered once every channel took it, dead once none is pending and one is dead,
pending otherwise; `channels_done`; `attempts` (the most any channel made); `next_attempt_at`
(the earliest retry); `last_error` (the latest, with its channel); `delivered_at`.

Two lanes finishing channels of one row at once: each locks the outbox row (PostgreSQL: `FOR
UPDATE`; SQLite: its write lock, taken by the first statement, an UPDATE) before it reads the
row's deliveries, so the later one sees the earlier's and the summary is never left behind.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, or_, select, update

from casework.notify.contracts import LANES
from casework.store.base import SealingRepository, aware, utc
from casework.store.dialect import insert_or_nothing
from casework.store.outbox import DEAD, DELIVERED, ERROR_CHARS, PENDING, URGENT_KINDS
from casework.store.tables import deliveries, outbox

MAX_ROWS = 1_000


@dataclass(frozen=True)
class Plan:
    """An outbox row's channels (None: it has none, `error` says why and how to fix it)."""

    row_id: int
    channels: list[str] | None
    error: str | None = None


@dataclass(frozen=True)
class Outcome:
    """One channel's attempt: delivered (no error), retried at `retry_at`, or dead."""

    row_id: int
    channel: str
    at: datetime
    error: str | None
    retry_at: datetime | None

    @property
    def status(self) -> str:
        return PENDING if self.error and self.retry_at else DEAD if self.error else DELIVERED


def _urgent() -> Any:
    return case((outbox.c.recipient_kind.in_(URGENT_KINDS), 0), else_=1)


class DeliveryRepository(SealingRepository):
    def unplanned(self, limit: int) -> list[dict[str, Any]]:
        """Pending outbox rows the relay has not planned yet: alerts to managers first."""
        query = (
            select(
                outbox.c.id,
                outbox.c.recipient_kind,
                outbox.c.recipient_id,
                outbox.c.address,
                outbox.c.channels_done,
                outbox.c.attempts,
                outbox.c.next_attempt_at,
            )
            .where(
                outbox.c.status == PENDING,
                ~exists().where(deliveries.c.outbox_id == outbox.c.id),
            )
            .order_by(_urgent(), outbox.c.id)
            .limit(max(1, min(limit, MAX_ROWS)))
        )
        return self._rows(query)

    def plan(self, plans: list[Plan], rows: dict[int, dict[str, Any]], now: datetime) -> list[int]:
        """Write the plans (a row planned meanwhile by another lane keeps that plan); returns
        the rows that are dead for want of a channel. `rows`: `unplanned`'s, by id."""
        dead = []
        with self.engine.begin() as conn:
            for plan in plans:
                row = rows[plan.row_id]
                if plan.channels is None:
                    gone = conn.execute(
                        update(outbox)
                        .where(
                            outbox.c.id == plan.row_id,
                            outbox.c.status == PENDING,
                            ~exists().where(deliveries.c.outbox_id == outbox.c.id),
                        )
                        .values(
                            status=DEAD,
                            attempts=outbox.c.attempts + 1,
                            failed_attempts=outbox.c.failed_attempts + 1,
                            last_error=(plan.error or "no channel")[:ERROR_CHARS],
                            next_attempt_at=None,
                        )
                    )
                    if gone.rowcount:
                        dead.append(plan.row_id)
                    continue
                done = set(row["channels_done"] or [])
                values = [
                    {
                        "outbox_id": plan.row_id,
                        "channel": channel,
                        "status": DELIVERED if channel in done else PENDING,
                        "attempts": row["attempts"] or 0,
                        "failed_attempts": 0,
                        "next_attempt_at": None if channel in done else row["next_attempt_at"],
                        "delivered_at": utc(now) if channel in done else None,
                    }
                    for channel in plan.channels
                ]
                if values:
                    insert_or_nothing(conn, deliveries, values)
                if done >= set(plan.channels):  # an upgraded row every channel took already
                    conn.execute(
                        update(outbox)
                        .where(outbox.c.id == plan.row_id, outbox.c.status == PENDING)
                        .values(status=DELIVERED, delivered_at=utc(now), next_attempt_at=None)
                    )
        return dead

    def due(
        self, lane: str, now: datetime, limit: int, lease: Callable[[int], timedelta]
    ) -> tuple[str, list[dict[str, Any]]]:
        """`lane`'s deliveries due at `now` that no other round holds, claimed for this round
        (issue 30), with their outbox rows (bodies unsealed): alerts to managers first (E3,
        S3), then the oldest. (the claim's token, the rows). `lease(n)`: how long a round
        sending `n` may take; past it, another round may take them (this one was killed).
        Recording an outcome lets go of its delivery; `release` lets go of the rest."""
        token = uuid.uuid4().hex
        asked = {"p_lane": lane, "p_now": utc(now), "p_token": token}
        with self.engine.begin() as conn:
            # first a write: on SQLite it takes the lock before anything is read; on
            # PostgreSQL a round that waited on another's rows finds them no longer free
            limit = max(1, min(limit, MAX_ROWS))
            until = utc(now + lease(limit))
            taken = conn.execute(_CLAIM, {**asked, "p_limit": limit, "p_until": until}).rowcount
            if not taken:
                return token, []
            conn.execute(_LEASE, {**asked, "p_until": utc(now + lease(taken))})
        rows = self._rows(_CLAIMED, {"p_lane": lane, "p_token": token})
        for row in rows:
            row["body"] = self.unseal(row["body"])
        return token, rows

    def release(self, token: str) -> None:
        """Let go of the deliveries round `token` claimed and did not record (it failed or was
        cancelled): the next round may take them at once."""
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.claim == token)
                .values(claim=None, claimed_until=None)
            )

    def record(self, outcome: Outcome) -> str:
        """One channel's attempt and the outbox row's summary; the row's status after it."""
        return self.record_many([outcome])[0]

    def record_many(self, outcomes: list[Outcome]) -> list[str]:
        """Attempts that ended together, in one transaction, each with its row's summary; the
        rows' statuses after them, in order. Rows are locked in ascending id, so two lanes
        recording at once never wait on each other in a circle. An attempt on a delivery no
        longer pending changes nothing."""
        statuses: dict[int, str] = {}
        with self.engine.begin() as conn:
            for outcome in sorted(outcomes, key=lambda o: (o.row_id, o.channel)):
                statuses[id(outcome)] = self._record(conn, outcome)
        return [statuses[id(o)] for o in outcomes]

    def _record(self, conn: Any, outcome: Outcome) -> str:
        """One attempt and its row's summary: four statements, each built once a shape
        (`_marking`, `_summing`) and run with this attempt's values as parameters (building
        them for each attempt was most of the relay's database time)."""
        failed, delivered = bool(outcome.error), outcome.status == DELIVERED
        marked = {
            "p_row": outcome.row_id,
            "p_channel": outcome.channel,
            "p_status": outcome.status,
            "p_retry_at": utc(outcome.retry_at) if outcome.retry_at and failed else None,
            "p_error": outcome.error[:ERROR_CHARS] if outcome.error else None,
        }
        if delivered:
            marked["p_at"] = utc(outcome.at)
        # first a write: on SQLite it takes the lock before anything is read
        conn.execute(_marking(failed, delivered), marked)
        row = conn.execute(_LOCK_ROW, {"p_row": outcome.row_id}).first()
        if row is None:
            return DEAD
        found = conn.execute(_CHANNELS, {"p_row": outcome.row_id}).mappings()
        channels = [aware(dict(r)) for r in found]
        summary = _summary(channels, row.attempts, outcome)
        conn.execute(
            _summing(tuple(sorted(summary))),
            {"p_row": outcome.row_id, **{f"p_{k}": v for k, v in summary.items()}},
        )
        return str(summary["status"]) if row.status == PENDING else str(row.status)

    def next_due(self, lane: str | None = None) -> datetime | None:
        """When `lane`'s (every lane's) earliest delivery waiting for a retry is due; a claimed
        one, when its claim runs out (a round that died holding it: issue 30)."""
        held, retry = deliveries.c.claimed_until, deliveries.c.next_attempt_at
        due_at = case(
            (and_(held.is_not(None), or_(retry.is_(None), held > retry)), held),
            else_=retry,
        )
        query = select(func.min(due_at)).where(deliveries.c.status == PENDING)
        if lane is not None:
            query = query.where(deliveries.c.channel == lane)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        return aware({"at": found})["at"] if found is not None else None


def _claims() -> tuple[Any, Any, Any]:
    """A round's claim (`due`): the statements, built once, its values as parameters: the
    lane's due deliveries no other round holds, up to `p_limit`, claimed with `p_token` until
    `p_until`; the claim's lease made to fit what was taken; what was taken, with its rows."""
    now = bindparam("p_now", type_=deliveries.c.claimed_until.type)
    lane = bindparam("p_lane", type_=deliveries.c.channel.type)
    token = bindparam("p_token", type_=deliveries.c.claim.type)
    until = bindparam("p_until", type_=deliveries.c.claimed_until.type)
    free = or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until <= now)
    both = outbox.join(deliveries, deliveries.c.outbox_id == outbox.c.id)
    candidates = (
        select(deliveries.c.outbox_id)
        .select_from(both)
        .where(
            deliveries.c.channel == lane,
            deliveries.c.status == PENDING,
            or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now),
            free,
            outbox.c.status == PENDING,
        )
        .order_by(_urgent(), outbox.c.id)
        .limit(bindparam("p_limit"))
    )
    claim = (
        update(deliveries)
        .where(
            deliveries.c.channel == lane,
            deliveries.c.outbox_id.in_(candidates.scalar_subquery()),
            deliveries.c.status == PENDING,
            free,
        )
        .values(claim=token, claimed_until=until)
    )
    mine = (deliveries.c.channel == lane, deliveries.c.claim == token)
    lease = update(deliveries).where(*mine).values(claimed_until=until)
    claimed = (
        select(outbox, deliveries.c.channel, deliveries.c.failed_attempts.label("channel_failures"))
        .select_from(both)
        .where(*mine)
        .order_by(_urgent(), outbox.c.id)
    )
    return claim, lease, claimed


_CLAIM, _LEASE, _CLAIMED = _claims()
_LOCK_ROW = (
    select(outbox.c.status, outbox.c.attempts)
    .where(outbox.c.id == bindparam("p_row"))
    .with_for_update()
)
_CHANNELS = select(deliveries).where(deliveries.c.outbox_id == bindparam("p_row"))


@functools.lru_cache(maxsize=8)
def _marking(failed: bool, delivered: bool) -> Any:
    """One channel's attempt on its delivery, while it is pending; the claim let go."""
    values: dict[str, Any] = {
        "status": bindparam("p_status", type_=deliveries.c.status.type),
        "attempts": deliveries.c.attempts + 1,
        "failed_attempts": deliveries.c.failed_attempts + 1 if failed else 0,
        "next_attempt_at": bindparam("p_retry_at", type_=deliveries.c.next_attempt_at.type),
        "last_error": bindparam("p_error", type_=deliveries.c.last_error.type),
        "claim": None,
        "claimed_until": None,
    }
    if delivered:
        values["delivered_at"] = bindparam("p_at", type_=deliveries.c.delivered_at.type)
    return (
        update(deliveries)
        .where(
            deliveries.c.outbox_id == bindparam("p_row"),
            deliveries.c.channel == bindparam("p_channel"),
            deliveries.c.status == PENDING,
        )
        .values(**values)
    )


@functools.lru_cache(maxsize=16)
def _summing(columns: tuple[str, ...]) -> Any:
    """The outbox row's summary of its deliveries (`columns` of it), while it is pending."""
    return (
        update(outbox)
        .where(outbox.c.id == bindparam("p_row"), outbox.c.status == PENDING)
        .values({c: bindparam(f"p_{c}", type_=outbox.c[c].type) for c in columns})
    )


def _summary(channels: list[dict[str, Any]], attempts: int, outcome: Outcome) -> dict[str, Any]:
    statuses = {c["status"] for c in channels}
    status = PENDING
    if statuses == {DELIVERED}:
        status = DELIVERED
    elif PENDING not in statuses and DEAD in statuses:
        status = DEAD
    retries = [c["next_attempt_at"] for c in channels if c["status"] == PENDING]
    waiting = [r for r in retries if r is not None]
    done = [c["channel"] for c in channels if c["status"] == DELIVERED]
    summary: dict[str, Any] = {
        "status": status,
        "attempts": max([attempts or 0, *(c["attempts"] for c in channels)]),
        "failed_attempts": max([0, *(c["failed_attempts"] for c in channels)]),
        "channels_done": sorted(done, key=lambda c: LANES.index(c) if c in LANES else 99),
        "next_attempt_at": utc(min(waiting)) if waiting and len(waiting) == len(retries) else None,
    }
    if outcome.error:
        summary["last_error"] = f"{outcome.channel}: {outcome.error}"[:ERROR_CHARS]
    if status == DELIVERED:
        summary["delivered_at"] = utc(max(c["delivered_at"] or outcome.at for c in channels))
        summary["last_error"] = None
    return summary
