"""Pure parts of the page's first-day fixes (issue 26): drafts are bounded, expire, and are
given back once to the person who typed them in that browser only; a customer's words carry no
rule id or action name and labels never repeat; times are said in the reader's zone."""

from __future__ import annotations

from datetime import UTC, datetime

from casework.door.drafts import (
    DRAFT_HOURS,
    MAX_DRAFT_CHARS,
    MAX_DRAFTS,
    MAX_FIELD_CHARS,
    MAX_PER_BROWSER,
    Drafts,
    new_browser_id,
)
from casework.door.presentation import STATE_WORDS
from casework.door.previews import inline_disposition, preview_type
from casework.door.words import kind_words, plain, reader_of, state_words


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_draft_is_given_back_once_to_its_owner_in_its_browser() -> None:
    drafts, browser = Drafts(), new_browser_id()
    assert drafts.keep(browser, "acme-alice", "/cases/c-1", "comment", {"text": "hello"})
    assert drafts.take(new_browser_id(), "acme-alice", "/cases/c-1") is None  # another browser
    assert drafts.take(browser, "acme-bob", "/cases/c-1") is None  # another person
    got = drafts.take(browser, "acme-alice", "/cases/c-1")
    assert got is not None and got.fields == {"text": "hello"} and got.form == "comment"
    assert drafts.take(browser, "acme-alice", "/cases/c-1") is None  # once


def test_nothing_is_kept_without_a_browser_an_owner_or_text_and_never_the_csrf_token() -> None:
    drafts = Drafts()
    assert not drafts.keep(None, "a", "/p", "f", {"text": "x"})
    assert not drafts.keep("short", "a", "/p", "f", {"text": "x"})  # not a browser id
    assert not drafts.keep(new_browser_id(), None, "/p", "f", {"text": "x"})
    assert not drafts.keep(new_browser_id(), "a", "/p", "f", {"text": "  ", "csrf": "t"})
    browser = new_browser_id()
    drafts.keep(browser, "a", "/p", "f", {"text": "x", "csrf": "secret"})
    got = drafts.take(browser, "a", "/p")
    assert got is not None and "csrf" not in got.fields


def test_drafts_are_bounded_in_size_and_count_and_expire() -> None:
    clock = Clock()
    drafts, browser = Drafts(clock), new_browser_id()
    drafts.keep(browser, "a", "/p", "f", {f"f{i}": "y" * MAX_FIELD_CHARS * 2 for i in range(9)})
    got = drafts.take(browser, "a", "/p")
    assert got is not None
    assert max(len(v) for v in got.fields.values()) <= MAX_FIELD_CHARS
    assert sum(len(k) + len(v) for k, v in got.fields.items()) <= MAX_DRAFT_CHARS + 64
    for n in range(MAX_PER_BROWSER + 3):
        drafts.keep(browser, "a", f"/cases/c-{n}", "f", {"text": str(n)})
    assert len(drafts) == MAX_PER_BROWSER
    assert drafts.take(browser, "a", "/cases/c-0") is None  # the oldest went first
    for _ in range(MAX_DRAFTS + 10):
        drafts.keep(new_browser_id(), "b", "/p", "f", {"text": "z"})
    assert len(drafts) == MAX_DRAFTS
    clock.now += DRAFT_HOURS * 3600 + 1
    assert len(drafts) == 0


def test_customers_read_no_rule_ids_nor_action_names_and_labels_do_not_repeat() -> None:
    assert plain("Our escalation team (P4)") == "Our escalation team"
    assert plain("E2: to product engineering") == "to product engineering"
    assert plain("refused: escalate_now is not allowed (E3, E4)") == (
        "refused: escalation requested is not allowed"
    )
    assert state_words("closed", "closed", STATE_WORDS) == "Closed"
    assert state_words("in_progress", "terminated", STATE_WORDS).startswith("Was terminated")
    assert kind_words("read_refused", refused=True) == "Read refused"
    assert kind_words("escalate_now", refused=True) == "Escalation requested: refused"
    assert reader_of("contact", None).say("An Escalation Manager takes it up (E3).") == (
        "An Escalation Manager takes it up."
    )
    assert reader_of("engineer", None).say("takes it up (E3).") == "takes it up (E3)."


def test_times_are_said_in_the_readers_zone_with_the_zone_shown() -> None:
    at = datetime(2026, 1, 15, 14, 30, tzinfo=UTC)
    assert reader_of("contact", "America/New_York").when(at) == "2026-01-15 09:30 EST"
    assert reader_of("contact", None).when(at) == "2026-01-15 14:30 UTC"
    assert reader_of("engineer", "Not/AZone").when(at) == "2026-01-15 14:30 UTC"


def test_a_preview_follows_the_name_and_the_first_bytes() -> None:
    assert preview_type("a.png", b"\x89PNG\r\n\x1a\n....", 10) == "image/png"
    assert preview_type("a.png", b"<svg onload=x>", 10) is None
    assert preview_type("a.svg", b"<svg>", 10) is None
    assert preview_type("a.html", b"<html>", 10) is None
    assert preview_type("a.log", b"plain text", 10) == "text/plain; charset=utf-8"
    assert preview_type("a.pdf", b"%PDF-1.7", 10) == "application/pdf"
    assert inline_disposition('ré"port.pdf').startswith('inline; filename="r__port.pdf"')
