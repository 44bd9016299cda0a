"""The SLA clock as read (issue 26; S2-S4, U4), pure: a case answers its view as of its last
step, and every reader (the API, the page, `casework show`) reads the clock again at its own
instant from the due time and the clock the case carries (`as_read_at`). No server: views are
made the way the case workflow makes them (`present`), read at instants the test names.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from casework.cli.render_case import case_view
from casework.domain.models import CaseState, CaseView, Priority
from casework.domain.presentation import as_read_at
from casework.door.presentation import clock_of, duration_words
from tests.test_cli_render import (
    EASTERN,
    FRIDAY_LATE,
    OPENED,
    SATURDAY_NOON,
    case,
    line_of,
    text_of,
    view_of,
)

P2_TARGET = timedelta(hours=1)
FRIDAY_CLOSING = FRIDAY_LATE + timedelta(minutes=10)  # 17:00 in New York
MONDAY_OPENING = SATURDAY_NOON + timedelta(days=2, hours=2)  # Monday 09:00 in New York


def untouched_p2() -> CaseState:
    """A Gold P2 (S1: one hour) opened at OPENED that nobody has touched since."""
    state = case(tier="GOLD", target=P2_TARGET)
    state.priority = Priority.P2
    return state


def as_the_case_answers(state: CaseState, viewer: str = "operator") -> CaseView:
    """The view the case answers: as of its last step, which for an untouched case is its
    opening."""
    return view_of(state, viewer, state.opened_at)


def cli_clock_line(view: CaseView, viewer: str = "operator") -> str:
    """`casework show`'s SLA clock line for the view the door answered (printed at the
    instant the door read it)."""
    assert view.sla_read_at is not None
    return line_of(text_of(case_view(view, viewer, now=view.sla_read_at)), "SLA clock")


def test_an_untouched_p2_read_at_two_times_shows_due_minus_now_each_time() -> None:
    """The report: a P2 opened at 01:17 still said "1h left" at 01:28. Read at 11 and 32
    minutes, it says 49 and 28 minutes left: due - now, whatever the case last computed."""
    answered = as_the_case_answers(untouched_p2())
    assert answered.sla_remaining_seconds == P2_TARGET.total_seconds()  # as of the opening
    due = answered.sla.due_at
    assert due == OPENED + P2_TARGET

    figures = []
    for minutes in (11, 32):
        now = OPENED + timedelta(minutes=minutes)
        read = as_read_at(answered, now)
        assert read.sla_remaining_seconds == (due - now).total_seconds()
        assert read.sla_read_at == now and read.sla_paused_reason is None
        figures.append(read.sla_remaining_seconds)
    assert figures == [49 * 60, 28 * 60]


def test_the_page_the_api_and_the_cli_agree_at_the_same_instant() -> None:
    """One reading, three readers: the API's seconds, the page's words, the CLI's line."""
    answered = as_the_case_answers(untouched_p2())
    now = OPENED + timedelta(minutes=11, seconds=6)
    read = as_read_at(answered, now)

    assert read.sla_remaining_seconds == 48 * 60 + 54  # what `casework show` said in the report
    clock = clock_of(read)
    assert clock.status == "running" and clock.headline == "49m left"  # minutes, rounded up
    assert clock.headline == duration_words(read.sla_remaining_seconds)
    assert cli_clock_line(read) == "due 2026-11-02 15:00:00 UTC (48m54s of service time left)"


def test_a_business_hours_case_read_outside_its_hours_shows_the_time_left_at_closing_paused() -> (
    None
):
    """U4, S2: opened Friday 16:50 in New York with a 1h target, due Monday 09:50. At closing
    50 minutes are left; read on Saturday and on Monday before nine, still 50 minutes, and the
    clock says it is paused and when it resumes; from 09:00 it runs again."""
    answered = as_the_case_answers(
        case(clock=EASTERN, opened_at=FRIDAY_LATE, target=timedelta(hours=1))
    )
    fifty = timedelta(minutes=50).total_seconds()

    before_closing = as_read_at(answered, FRIDAY_CLOSING - timedelta(seconds=1))
    assert before_closing.sla_remaining_seconds == fifty + 1
    assert before_closing.sla_paused_reason is None

    for outside in (FRIDAY_CLOSING, SATURDAY_NOON, MONDAY_OPENING - timedelta(seconds=1)):
        read = as_read_at(answered, outside)
        assert read.sla_remaining_seconds == fifty, outside
        assert read.sla_paused_reason is not None
        assert read.sla_paused_reason.startswith("outside business hours")
        assert "opens Mon 2026-11-09 09:00 EST" in read.sla_paused_reason
        page = clock_of(read)
        assert page.status == "paused" and page.headline == "Clock paused, 50m left"
        assert cli_clock_line(read) == "due 2026-11-09 14:50:00 UTC (50m of service time left)"

    running = as_read_at(answered, MONDAY_OPENING + timedelta(minutes=20))
    assert running.sla_remaining_seconds == timedelta(minutes=30).total_seconds()
    assert running.sla_paused_reason is None and clock_of(running).headline == "30m left"


def test_a_restricted_case_seen_from_outside_its_queue_reads_the_same_clock() -> None:
    """U5 withholds content, not the clock: an outsider's view is read the same way."""
    state = case(
        account="cyberdyne",
        contact="cyberdyne-judy",
        contacts=("cyberdyne-judy",),
        restricted=True,
        clock=EASTERN,
        opened_at=FRIDAY_LATE,
        target=timedelta(hours=1),
    )
    outsider = as_read_at(as_the_case_answers(state, viewer="gsc-erin"), SATURDAY_NOON)
    assert outsider.content_withheld
    assert outsider.sla_remaining_seconds == timedelta(minutes=50).total_seconds()
    assert outsider.sla_paused_reason is not None


@pytest.mark.parametrize(
    "stop",
    ["responded", "breached", "closed", "terminated"],
)
def test_a_stopped_clock_reads_no_time_left_and_no_pause(stop: str) -> None:
    """S2: the clock stops at the first response; S3: a breach is for good; E4: a closed
    case, and a case whose workflow was ended from outside, have no clock running."""
    state = case(clock=EASTERN, opened_at=FRIDAY_LATE, target=timedelta(hours=1))
    if stop == "responded":
        state.sla.responded_at = FRIDAY_LATE + timedelta(minutes=5)
    if stop == "breached":
        state.sla.breached_at = state.sla.due_at
    if stop == "closed":
        state.state = "closed"
    answered = as_the_case_answers(state)
    if stop == "terminated":
        answered = answered.model_copy(update={"ended": "terminated"})
    read = as_read_at(answered, SATURDAY_NOON)
    assert read.sla_remaining_seconds is None and read.sla_paused_reason is None
    assert clock_of(read).status != "running"


def test_past_the_due_time_before_the_breach_is_recorded_no_time_is_left() -> None:
    """S3 is the case's to record (at the due instant, by its timer); a reader a moment later
    sees nothing left, never a negative figure or the figure from the opening."""
    answered = as_the_case_answers(untouched_p2())
    read = as_read_at(answered, OPENED + P2_TARGET + timedelta(seconds=30))
    assert read.sla_remaining_seconds == 0
    assert clock_of(read).headline == "0m left"
