"""Issue 24's rule that a message acts once, as the case keeps it (`casework.domain.once`):
each token is taken once until it expires, a case remembers at most MAX_TAKEN_TOKENS unexpired
ones, and the memory stays ordered by expiry so that taking one never walks the whole list (a
flood of signals is taken in one workflow task, which the SDK fails past 2 seconds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from casework.domain.once import MAX_TAKEN_TOKENS, TakenToken, TokenMemory

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
STAMP = int(NOW.timestamp())


def test_a_token_is_taken_once_and_a_copy_is_refused() -> None:
    memory = TokenMemory([])
    assert memory.take("t1", STAMP + 600, NOW) is None
    refused = memory.take("t1", STAMP + 600, NOW + timedelta(seconds=5))
    assert refused is not None and "used already" in refused


def test_an_expired_token_is_forgotten_and_the_memory_stays_small() -> None:
    taken: list[TakenToken] = []
    memory = TokenMemory(taken)
    memory.take("old", STAMP + 60, NOW)
    memory.take("new", STAMP + 600, NOW)
    later = NOW + timedelta(seconds=61)
    assert memory.take("another", STAMP + 700, later) is None
    assert [t.id for t in taken] == ["new", "another"]  # the case's state, kept in place
    assert memory.take("old", STAMP + 800, later) is None  # forgotten: its copy has expired


def test_past_the_bound_senders_are_asked_to_wait_and_nothing_is_forgotten() -> None:
    taken = [TakenToken(id=f"t{i}", expires=STAMP + 600) for i in range(MAX_TAKEN_TOKENS)]
    memory = TokenMemory(taken)
    refused = memory.take("one-more", STAMP + 600, NOW)
    assert refused is not None and "try again in a minute" in refused
    assert len(taken) == MAX_TAKEN_TOKENS
    assert memory.take("t0", STAMP + 600, NOW) is not None  # still remembered


def test_a_memory_carried_out_of_order_is_put_in_order_of_expiry() -> None:
    """A state carried from release 0.4.0 kept its tokens in the order they came."""
    taken = [
        TakenToken(id="b", expires=STAMP + 300),
        TakenToken(id="a", expires=STAMP + 100),
        TakenToken(id="c", expires=STAMP + 200),
    ]
    memory = TokenMemory(taken)
    assert [t.id for t in taken] == ["a", "c", "b"]
    assert memory.take("d", STAMP + 250, NOW + timedelta(seconds=150)) is None
    assert [t.id for t in taken] == ["c", "d", "b"]
    assert memory.take("a", STAMP + 900, NOW + timedelta(seconds=150)) is None
