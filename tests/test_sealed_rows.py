"""U5 at rest: what the tracker keeps of a restricted case for product engineering (the Problem
Report's summary, the names of the logs shared with it) is sealed in the database and read back
whole with the key ring; an ordinary case's stays plain."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from casework.store import Store
from tests.conftest import TEST_RING

AT = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
CANARY = "CANARY-pr-summary-7f3a"


def test_a_restricted_cases_problem_report_is_sealed_and_an_ordinary_one_is_not(
    tmp_path: Path,
) -> None:
    path = tmp_path / "casework.db"
    store = Store(f"sqlite:///{path}", TEST_RING)
    store.realms.register("case-000001", "cyberdyne", restricted=True)
    store.realms.register("case-000002", "acme", restricted=False)
    store.tracker.file_problem_report("k1", "case-000001", f"enclave {CANARY}", "usc-noah", AT)
    store.tracker.file_problem_report("k2", "case-000002", "plain HA bug", "gec-hugo", AT)
    store.tracker.file_problem_report("k3", "case-000003", f"no realm {CANARY}", "gec-hugo", AT)
    summaries = [r["summary"] for r in store.tracker.problem_reports()]
    store.dispose()
    assert summaries == [f"enclave {CANARY}", "plain HA bug", f"no realm {CANARY}"]
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert CANARY.encode() not in on_disk, "sealed (a case of no realm fails closed)"
    assert b"plain HA bug" in on_disk, "an ordinary case's summary is plain"
