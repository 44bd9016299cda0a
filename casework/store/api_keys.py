"""The door's API keys (issue 10): one row per key, bound to one directory id. The secret is
shown once when the key is made and never kept: the row holds its SHA-256."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from casework.store.base import Repository, utc
from casework.store.tables import api_keys

MAX_LISTED = 1_000
"""Bound on one listing of keys."""


class ApiKeyRepository(Repository):
    def add(
        self,
        *,
        key_id: str,
        directory_id: str,
        secret_sha256: str,
        label: str,
        created_at: datetime,
        created_by: str,
        expires_at: datetime | None,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(api_keys).values(
                    id=key_id,
                    directory_id=directory_id,
                    secret_sha256=secret_sha256,
                    label=label,
                    created_at=utc(created_at),
                    created_by=created_by,
                    expires_at=utc(expires_at) if expires_at else None,
                )
            )

    def get(self, key_id: str) -> dict[str, Any] | None:
        rows = self._rows(select(api_keys).where(api_keys.c.id == key_id))
        return rows[0] if rows else None

    def list(
        self, directory_id: str | None = None, limit: int = MAX_LISTED
    ) -> list[dict[str, Any]]:
        query = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
        if directory_id is not None:
            query = query.where(api_keys.c.directory_id == directory_id)
        return self._rows(query.limit(min(limit, MAX_LISTED)))

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(api_keys)).scalar_one())

    def _set(self, key_id: str, **values: Any) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(**values))
            return result.rowcount > 0

    def expire(self, key_id: str, at: datetime) -> bool:
        """The key stops working at `at` (now, for `casework keys expire`); False if unknown."""
        return self._set(key_id, expires_at=utc(at))

    def revoke(self, key_id: str, at: datetime) -> bool:
        """The key is refused from now on, with 'revoked' as the reason; False if unknown."""
        return self._set(key_id, revoked_at=utc(at))

    def used(self, key_id: str, at: datetime) -> None:
        self._set(key_id, last_used_at=utc(at))
