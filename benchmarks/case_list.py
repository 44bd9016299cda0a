"""What a page of the case list costs in the store (issue 26): `casework.store.case_rows`
filled with N cases of a few accounts (5% of them US Citizen Support, sealed), then a page of
50 read per sort, with a filter, with a search of plain text, and a member's search (which
unseals restricted rows in Python), each with its count.

    python benchmarks/case_list.py [--rows 20000] [--url postgresql://...]

Prints milliseconds per page (median and 95th percentile of ROUNDS) for each read. SQLite in a
temporary folder by default; `--url` names another database (it must be empty: the script
fills it).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from casework.case_list import CaseFilters
from casework.case_pages import CaseQuery
from casework.identity.keyring import fresh_ring
from casework.store import Store
from casework.store.tables import case_rows

ROUNDS = 20
T0 = datetime(2026, 1, 1, tzinfo=UTC)
WORDS = ("VPN", "HA", "licence", "IPsec", "SD-WAN", "upgrade", "reboot", "logging")


def fill(store: Store, rows: int) -> None:
    ring = store.ring
    assert ring is not None
    batch = []
    for n in range(rows):
        restricted = n % 20 == 0
        subject = f"{WORDS[n % len(WORDS)]} issue number {n}"
        description = f"{subject}\nseen on unit {n % 97} after {WORDS[(n * 7) % len(WORDS)]}"
        at = T0 + timedelta(minutes=n)
        batch.append(
            {
                "case_id": f"case-{n:07d}",
                "revision": 1,
                "account": f"account-{n % 40}",
                "tier": "GOLD" if n % 3 else "PLATINUM",
                "category": "support" if n % 11 else "security_vulnerability",
                "priority": ("P1", "P2", "P3")[n % 3],
                "state": ("queued", "in_progress", "waiting_on_customer", "closed")[n % 4],
                "level": "L1",
                "owner": f"engineer-{n % 25}",
                "queue": "us-citizen" if restricted else "gsc",
                "restricted": restricted,
                "breached": n % 9 == 0,
                "due_at": at + timedelta(hours=1 + n % 8),
                "responded_at": None,
                "clock": {"kind": "24x7"},
                "opened_at": at,
                "updated_at": at,
                "subject": store.case_rows.seal(subject) if restricted else subject,
                "subject_key": "" if restricted else subject.casefold(),
                "description": store.case_rows.seal(description) if restricted else description,
            }
        )
        if len(batch) == 1_000:
            with store.engine.begin() as conn:
                conn.execute(insert(case_rows), batch)
            batch = []
    if batch:
        with store.engine.begin() as conn:
            conn.execute(insert(case_rows), batch)


def timed(store: Store, query: CaseQuery) -> tuple[float, float, int]:
    samples = []
    total = 0
    for _ in range(ROUNDS):
        start = time.perf_counter()
        total = store.case_rows.page(query).total
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.95) - 1], total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--url")
    args = parser.parse_args()
    ring = fresh_ring()
    folder = Path(tempfile.mkdtemp())
    url = args.url or f"sqlite:///{folder / 'bench.db'}"
    store = Store(url, ring)
    started = time.perf_counter()
    fill(store, args.rows)
    took = time.perf_counter() - started
    print(f"{args.rows:,} rows written in {took:.1f} s ({url.split(':')[0]})")
    reads = {
        "newest first (default)": CaseQuery(),
        "sorted by subject": CaseQuery(sort="subject", descending=False),
        "sorted by due": CaseQuery(sort="due", descending=False),
        "one account, P1": CaseQuery(filters=CaseFilters(account="account-7", priority="P1")),
        "page 2 (cursor)": None,
        "search 'unit 42' (outsider)": CaseQuery(search="unit 42"),
        "search 'unit 42' (member)": CaseQuery(search="unit 42", reads_restricted=True),
    }
    first = store.case_rows.page(CaseQuery())
    reads["page 2 (cursor)"] = CaseQuery(cursor=first.next_cursor)
    results = {}
    for name, query in reads.items():
        assert query is not None
        median, p95, total = timed(store, query)
        results[name] = {"median_ms": round(median, 1), "p95_ms": round(p95, 1), "total": total}
        print(f"{name:32} {median:7.1f} ms median {p95:7.1f} ms p95   ({total:,} match)")
    print(json.dumps(results))
    store.dispose()


if __name__ == "__main__":
    main()
