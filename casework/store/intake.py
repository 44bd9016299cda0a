"""Intake's records: the case number of each open request, and the referrals of PAR customers
who came to us directly (P2)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select

from casework.store.base import Repository
from casework.store.dialect import insert_or_nothing, number_from
from casework.store.tables import case_numbers, referrals


def referral_id_for(number: int) -> str:
    return f"REF-{number:06d}"


def _referral_row(row: Any) -> dict[str, Any]:
    at = row["at"]
    return {
        "referral_id": referral_id_for(row["id"]),
        **{k: v for k, v in row.items() if k not in ("id", "at")},
        "at": at.replace(tzinfo=at.tzinfo or UTC),
    }


class IntakeRepository(Repository):
    # --- case numbers ---------------------------------------------------------------------

    def allocate_case_number(self, request_id: str, at: datetime) -> tuple[int, bool]:
        """The case number for an open request: a retry of the same request, concurrent or
        late, gets the same number (created=False). A retry finds its number first, so it
        never draws one (a PostgreSQL sequence advances even on ON CONFLICT DO NOTHING, and
        customers see the gaps); only two first attempts at once race, and the upsert decides."""
        query = select(case_numbers.c.number).where(case_numbers.c.request_id == request_id)
        with self.engine.begin() as conn:
            existing = conn.execute(query).scalar()
            if existing is not None:
                return int(existing), False
            number = insert_or_nothing(
                conn,
                case_numbers,
                {"request_id": request_id, "created_at": at},
                key=[case_numbers.c.request_id],
                returning=[case_numbers.c.number],
            ).scalar()
            if number is not None:
                return int(number), True
            return int(conn.execute(query).scalar_one()), False

    def case_number_for(self, request_id: str) -> int | None:
        """The case number an open request was given, if it was."""
        with self.engine.connect() as conn:
            number = conn.execute(
                select(case_numbers.c.number).where(case_numbers.c.request_id == request_id)
            ).scalar()
            return None if number is None else int(number)

    def referral_for(self, request_id: str) -> dict[str, Any] | None:
        """P2: the referral an open request was answered with, if it was."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(referrals).where(referrals.c.request_id == request_id))
                .mappings()
                .first()
            )
            return _referral_row(row) if row is not None else None

    def start_case_numbers_at(self, first: int) -> None:
        """Number new cases from `first` on (a deployment that takes over from another
        system, or a test that shares a Temporal server with others). No-op if cases exist
        at or above it."""
        with self.engine.begin() as conn:
            highest = conn.execute(select(func.max(case_numbers.c.number))).scalar() or 0
            if highest < first - 1:
                conn.execute(
                    insert(case_numbers).values(
                        number=first - 1,
                        request_id=f"(numbering starts at {first})",
                        created_at=datetime.now(UTC),
                    )
                )
                number_from(conn, case_numbers, "number", first - 1)

    # --- referrals to partners (P2) -------------------------------------------------------

    def record_referral(
        self, request_id: str, account: str, contact: str, partner: str, channel: str, at: datetime
    ) -> tuple[dict[str, Any], bool]:
        """P2: one referral per open request: a retry of the same request gets the same one
        (created=False), found before it would draw a new referral number."""
        query = select(referrals).where(referrals.c.request_id == request_id)
        with self.engine.begin() as conn:
            existing = conn.execute(query).mappings().first()
            if existing is not None:
                return _referral_row(existing), False
            row = {
                "request_id": request_id,
                "account": account,
                "contact": contact,
                "partner": partner,
                "channel": channel,
                "at": at,
            }
            created = insert_or_nothing(
                conn, referrals, row, key=[referrals.c.request_id], returning=[referrals.c.id]
            ).first()
            return _referral_row(conn.execute(query).mappings().one()), created is not None

    def referrals(self, account: str | None = None) -> list[dict[str, Any]]:
        """P2: the referrals on record, oldest first (an integration lists them here)."""
        query = select(referrals).order_by(referrals.c.id)
        if account:
            query = query.where(referrals.c.account == account)
        with self.engine.connect() as conn:
            return [_referral_row(r) for r in conn.execute(query).mappings()]
