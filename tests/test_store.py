"""The engine's database: the directory is replaced all or nothing; case numbers are unique and
idempotent per request, even under concurrent retries. On SQLite, and on PostgreSQL with
`--db postgres` (or `both`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from casework.domain.directory import Directory, Engineer
from casework.domain.models import Level
from casework.store import Store
from tests.conftest import SETTLE_TIMEOUT

AT = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


@pytest.fixture
def fresh(db_url: str, directory: Directory) -> Iterator[Store]:
    """A store of no key ring on a new database (SQLite, or PostgreSQL with --db)."""
    store = Store(db_url)
    store.directory.replace(directory)
    yield store
    store.dispose()


def snapshot(store: Store) -> tuple[object, ...]:
    return (
        store.directory.product_names(),
        store.directory.account("acme"),
        store.directory.account("globex"),
        store.directory.engineers(),
        store.directory.rota(),
    )


def test_a_directory_load_that_fails_midway_leaves_the_old_one(fresh: Store) -> None:
    """A directory is replaced in one transaction: a failure while writing engineers (two with
    one id, which only the database notices here) leaves products, accounts and the rota as
    they were."""
    before = snapshot(fresh)
    erin = Engineer(id="x-erin", name="Erin", level=Level.L1, skills=["FortiWeb"])
    broken = Directory.model_construct(
        products=["FortiWeb"],
        accounts=[],
        engineers=[erin, erin],
        escalation_managers=fresh.directory.rota()[:1],
    )
    with pytest.raises(IntegrityError):
        fresh.directory.replace(broken)
    assert snapshot(fresh) == before
    assert fresh.directory.is_loaded()


def test_a_new_directory_replaces_the_old_one_whole(fresh: Store) -> None:
    """Nothing of the old directory lingers: accounts, engineers and managers not in the new
    file are gone."""
    fresh.directory.replace(
        Directory.model_validate(
            {
                "products": ["FortiWeb"],
                "accounts": [
                    {
                        "id": "initech",
                        "name": "Initech",
                        "tier": "GOLD",
                        "users": 40,
                        "contacts": [{"id": "initech-peter", "name": "Peter"}],
                    }
                ],
                "engineers": [{"id": "l1-ana", "name": "Ana", "level": "L1", "skills": ["x"]}],
                "escalation_managers": [{"id": "em-z", "name": "Z"}, {"id": "em-y", "name": "Y"}],
            }
        )
    )
    assert fresh.directory.product_names() == ["FortiWeb"]
    assert fresh.directory.account("acme") is None
    assert fresh.directory.account("initech").contacts[0].id == "initech-peter"  # type: ignore[union-attr]
    assert fresh.directory.contact_address("acme-alice") is None
    assert [e.id for e in fresh.directory.engineers()] == ["l1-ana"]
    assert [m.id for m in fresh.directory.rota()] == ["em-z", "em-y"], "the rota keeps its order"


def test_the_directory_reads_back_as_loaded(fresh: Store, directory: Directory) -> None:
    """What the operator loaded is what routing and alerts see, shifts included."""
    assert fresh.directory.engineers() == sorted(directory.engineers, key=lambda e: e.id)
    assert fresh.directory.rota() == directory.escalation_managers
    acme = next(a for a in directory.accounts if a.id == "acme")
    assert fresh.directory.account("acme") == acme


def test_case_numbers_are_distinct_under_concurrent_requests(fresh: Store) -> None:
    """Every open request gets its own case number, also when requests arrive at once and each
    is retried concurrently: the same request always gets the same number."""
    requests = [f"req-{n}" for n in range(40)]
    calls = requests * 3  # every request three times: the original and two concurrent retries
    barrier = threading.Barrier(12)  # 120 calls: ten rounds of twelve at once

    def allocate(request_id: str) -> tuple[str, int, bool]:
        try:
            # Not a short timeout: missed once on a loaded machine, it breaks the barrier for
            # good, and every later call runs unsynchronised, testing nothing concurrent.
            barrier.wait(timeout=SETTLE_TIMEOUT)
        except threading.BrokenBarrierError:
            pass
        number, created = fresh.intake.allocate_case_number(request_id, AT)
        return request_id, number, created

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(allocate, calls))

    by_request: dict[str, set[int]] = {}
    for request_id, number, _ in results:
        by_request.setdefault(request_id, set()).add(number)
    assert all(len(numbers) == 1 for numbers in by_request.values()), by_request
    numbers = [next(iter(n)) for n in by_request.values()]
    assert len(set(numbers)) == len(requests), "two requests shared a case number"
    created = [r for r in results if r[2]]
    assert sorted(r[0] for r in created) == sorted(requests), "each request created exactly once"


def test_a_retried_request_gets_its_number_back(fresh: Store) -> None:
    first, created = fresh.intake.allocate_case_number("req-a", AT)
    again, created_again = fresh.intake.allocate_case_number("req-a", AT)
    following, _ = fresh.intake.allocate_case_number("req-b", AT)
    assert (again, created, created_again) == (first, True, False)
    assert following == first + 1


def test_numbering_can_start_at_a_chosen_number(fresh: Store) -> None:
    """A deployment taking over from another system numbers its cases on from there."""
    fresh.intake.start_case_numbers_at(500)
    assert fresh.intake.allocate_case_number("req-a", AT) == (500, True)
    assert fresh.intake.allocate_case_number("req-b", AT) == (501, True)


def test_starting_below_existing_numbers_changes_nothing(fresh: Store) -> None:
    """Numbers are never reused: a start below the highest case is ignored."""
    fresh.intake.start_case_numbers_at(500)
    fresh.intake.allocate_case_number("req-a", AT)
    fresh.intake.start_case_numbers_at(100)
    fresh.intake.start_case_numbers_at(501)
    assert fresh.intake.allocate_case_number("req-b", AT) == (501, True)


def test_each_test_database_numbers_its_cases_apart(store: Store) -> None:
    """Tests share one Temporal server, so each database starts in a range of its own."""
    number, _ = store.intake.allocate_case_number("req-a", AT)
    assert number % 10_000 == 1 and number > 10_000
