"""First-response targets (S1, S5) and the clock that runs against them (S2-S4). Pure."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casework.domain.models import ClockSpec, Priority
from casework.domain.sla import (
    DEFAULT_POLICY,
    AroundTheClock,
    SlaPolicy,
    clock_for,
    is_breached_at,
    is_running,
    remaining,
    retarget,
    start_clock,
)
from casework.domain.tiers import GOLD, PLATINUM
from casework.settings import DEFAULT_POLICY_FILE
from casework.yamlfiles import FileRefused, load_model

OPENED = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)

S1_TABLE = {
    # priority: (Gold, Platinum), as the service description states it
    Priority.P1: (timedelta(minutes=30), timedelta(minutes=15)),
    Priority.P2: (timedelta(hours=1), timedelta(hours=1)),
    Priority.P3: (timedelta(hours=8), timedelta(hours=4)),
}


@pytest.mark.parametrize("priority", list(Priority))
def test_default_policy_is_the_s1_table_cell_by_cell(priority: Priority) -> None:
    """S1: Gold P1 30 min, P2 1 h, P3 8 h; Platinum P1 15 min, P2 1 h, P3 4 h."""
    gold, platinum = S1_TABLE[priority]
    assert DEFAULT_POLICY.targets_for(GOLD)[priority] == gold
    assert DEFAULT_POLICY.targets_for(PLATINUM)[priority] == platinum


def test_default_policy_has_no_cells_beyond_s1() -> None:
    """S1: two tiers, three priorities each; nothing else."""
    assert set(DEFAULT_POLICY.first_response_targets) == {GOLD, PLATINUM}
    for row in DEFAULT_POLICY.first_response_targets.values():
        assert set(row) == set(Priority)


def test_the_shipped_policy_file_is_the_default_policy() -> None:
    """S5: casework/data/default-policy.yaml says what DEFAULT_POLICY says."""
    assert load_model(DEFAULT_POLICY_FILE, SlaPolicy) == DEFAULT_POLICY


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_a_policy_in_seconds_loads(tmp_path: Path) -> None:
    """S5: a deployment (or a test) can load its own table, in seconds."""
    path = write(
        tmp_path,
        """
        first_response_targets:
          GOLD: {P1: 30s, P2: 60s, P3: 480s}
          PLATINUM: {P1: 15s, P2: 60s, P3: 240}
        routing_retry: 5s
        """,
    )
    policy = load_model(path, SlaPolicy)
    assert policy.targets_for(PLATINUM) == {
        Priority.P1: timedelta(seconds=15),
        Priority.P2: timedelta(seconds=60),
        Priority.P3: timedelta(seconds=240),
    }
    assert policy.targets_for(GOLD)[Priority.P3] == timedelta(minutes=8)
    assert policy.routing_retry == timedelta(seconds=5)


def test_iso_8601_durations_are_accepted(tmp_path: Path) -> None:
    """S5: PT15M is 15 minutes, as pydantic reads ISO 8601."""
    path = write(
        tmp_path,
        """
        first_response_targets:
          GOLD: {P1: PT30M, P2: PT1H, P3: PT8H}
          PLATINUM: {P1: PT15M, P2: PT1H, P3: PT4H}
        """,
    )
    policy = load_model(path, SlaPolicy)
    assert policy.first_response_targets == DEFAULT_POLICY.first_response_targets
    assert policy.routing_retry == timedelta(minutes=5)


GOOD_ROWS = """\
first_response_targets:
  GOLD:
    P1: 30m
    P2: 1h
    P3: 8h
  PLATINUM:
    P1: 15m
    P2: 1h
    P3: 4h
"""

BAD_POLICIES = {
    "no tier at all": (
        "first_response_targets: {}\n",
        "policy.yaml:1: first_response_targets: names no tier, so the policy sells nothing: "
        "give it at least one tier with P1, P2, P3 (S1)",
    ),
    "missing priority": (
        GOOD_ROWS.replace("    P3: 4h\n", ""),
        "policy.yaml:6: first_response_targets.PLATINUM: no target for P3; "
        "every tier needs P1, P2, P3",
    ),
    "zero target": (
        GOOD_ROWS.replace("P1: 15m", "P1: 0s"),
        "policy.yaml:7: first_response_targets.PLATINUM.P1: must be a positive duration, not 0s",
    ),
    "negative target": (
        GOOD_ROWS.replace("P2: 1h\n    P3: 8h", "P2: -3600\n    P3: 8h"),
        "policy.yaml:4: first_response_targets.GOLD.P2: must be a positive duration, not -1h",
    ),
    "duration in words": (
        GOOD_ROWS.replace("P3: 8h", "P3: 15 minutes"),
        "policy.yaml:5: first_response_targets.GOLD.P3: '15 minutes' is not a duration; "
        "write it like 15m, 1h, 8h, 90s, 1d or 1h30m",
    ),
    "zero routing retry": (
        GOOD_ROWS + "routing_retry: 0s\n",
        "policy.yaml:10: routing_retry: must be a positive duration, not 0s",
    ),
    "unknown key": (
        GOOD_ROWS + "# a comment\nrouting_retyr: 5m\n",
        "policy.yaml:11: routing_retyr: Extra inputs are not permitted",
    ),
    "a tier in small letters": (
        GOOD_ROWS + "  silver: {P1: 1h, P2: 2h, P3: 9h}\n",
        "policy.yaml:10: first_response_targets.silver.[key]: 'silver' is not a tier's name: "
        "write it in capitals, digits and _, starting with a letter, up to 16 characters "
        "(GOLD, PLATINUM, SILVER)",
    ),
    "terms of a tier not sold": (
        GOOD_ROWS + "tiers:\n  SILVER: {min_users: 50}\n",
        "policy.yaml:11: tiers.SILVER: SILVER has no first_response_targets, so it is not sold: "
        "give it first_response_targets.SILVER, or remove tiers.SILVER",
    ),
    "an offering that does not exist": (
        GOOD_ROWS + "tiers:\n  GOLD: {premium_offerings: [csm, concierge]}\n",
        "policy.yaml:11: tiers.GOLD.premium_offerings.1: Input should be 'us_citizen_support', "
        "'csm_lite', 'csm' or 'resident_engineer'",
    ),
    "top-level list": (
        "- GOLD\n- PLATINUM\n",
        "policy.yaml:1: expected a mapping of settings at the top of the file",
    ),
    "empty file": ("", "policy.yaml:1: expected a mapping of settings at the top of the file"),
}


@pytest.mark.parametrize("text,expected", BAD_POLICIES.values(), ids=BAD_POLICIES.keys())
def test_a_bad_policy_file_is_refused_at_its_line(tmp_path: Path, text: str, expected: str) -> None:
    """S5: a policy that cannot be used is refused whole, with `file:line: path: reason`."""
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FileRefused) as refused:
        load_model(path, SlaPolicy)
    assert str(refused.value) == f"{tmp_path}/{expected}"


def test_invalid_yaml_is_refused_at_its_line(tmp_path: Path) -> None:
    """S5: a YAML syntax error names the line the parser stopped at."""
    path = tmp_path / "policy.yaml"
    path.write_text(GOOD_ROWS.replace("P2: 1h\n    P3: 8h", "P2: 1h: 2h\n    P3: 8h"))
    with pytest.raises(FileRefused) as refused:
        load_model(path, SlaPolicy)
    assert str(refused.value) == (f"{path}:4: not valid YAML: mapping values are not allowed here")


def test_a_policy_that_writes_a_key_twice_is_refused_naming_both_lines(tmp_path: Path) -> None:
    """S1/S5: a tier's P1 written twice used to keep the last silently (PyYAML): Gold P1 would
    have been 45 minutes against the 30 the operator read first. Refused, naming both lines;
    a tier written twice likewise, each problem at its line."""
    path = tmp_path / "policy.yaml"
    path.write_text(
        GOOD_ROWS.replace("P1: 30m\n", "P1: 30m\n    P1: 45m\n")
        + "  GOLD: {P1: 1h, P2: 2h, P3: 9h}\n"
    )
    with pytest.raises(FileRefused) as refused:
        load_model(path, SlaPolicy)
    assert str(refused.value).splitlines() == [
        f"{path}:4: first_response_targets.GOLD.P1: written twice in one mapping (lines 3 and "
        "4); keep one",
        f"{path}:11: first_response_targets.GOLD: written twice in one mapping (lines 2 and "
        "11); keep one",
    ]


def test_a_policy_that_is_not_utf8_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_bytes(GOOD_ROWS.encode() + b"# \xff\n")
    with pytest.raises(FileRefused) as refused:
        load_model(path, SlaPolicy)
    assert str(refused.value) == (
        f"{path}:10: not UTF-8 text (byte 0xff at column 3); save the file as UTF-8"
    )


def test_unbalanced_brackets_are_refused_at_their_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("first_response_targets:\n  GOLD: {P1: 30m, P2: 1h\n  PLATINUM: {}\n")
    with pytest.raises(FileRefused, match=r"policy\.yaml:3: not valid YAML: "):
        load_model(path, SlaPolicy)


def test_a_missing_policy_file_says_it_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="nowhere.yaml: cannot be read"):
        load_model(tmp_path / "nowhere.yaml", SlaPolicy)


def test_every_problem_in_a_file_is_reported_each_at_its_line(tmp_path: Path) -> None:
    """S5: an operator fixes a policy in one go: two bad cells, two lines of refusal."""
    path = tmp_path / "policy.yaml"
    path.write_text(GOOD_ROWS.replace("P1: 30m", "P1: 0m").replace("P3: 4h", "P3: 4 hours"))
    with pytest.raises(FileRefused) as refused:
        load_model(path, SlaPolicy)
    lines = str(refused.value).splitlines()
    assert [line.split(": ")[0].rsplit(":", 1)[1] for line in lines] == ["3", "9"]


# --- the clock ----------------------------------------------------------------------------


def test_the_clock_starts_when_the_case_is_opened() -> None:
    """S2: a Platinum P1 opened at 09:00 is due at 09:15 on the 24x7 clock."""
    sla = start_clock(OPENED, timedelta(minutes=15), AroundTheClock())
    assert sla.due_at == datetime(2025, 3, 4, 9, 15, tzinfo=UTC)
    assert sla.target == timedelta(minutes=15)
    assert sla.clock == "24x7"
    assert is_running(sla)


def test_the_24x7_clock_runs_through_nights_and_weekends() -> None:
    """S2/A2: a Gold P3 opened Friday 20:00 UTC is due Saturday 04:00."""
    friday_evening = datetime(2025, 3, 7, 20, 0, tzinfo=UTC)
    sla = start_clock(friday_evening, timedelta(hours=8), clock_for(ClockSpec()))
    assert sla.due_at == datetime(2025, 3, 8, 4, 0, tzinfo=UTC)
    assert AroundTheClock().paused_reason(datetime(2025, 3, 9, 3, 0, tzinfo=UTC)) is None


def test_breach_exactly_at_the_target_and_not_a_microsecond_before() -> None:
    """S3: at the target, not a moment before, an unanswered case is in breach."""
    sla = start_clock(OPENED, timedelta(minutes=15), AroundTheClock())
    due = OPENED + timedelta(minutes=15)
    assert not is_breached_at(sla, due - TICK)
    assert is_breached_at(sla, due)
    assert is_breached_at(sla, due + timedelta(hours=3))


def test_a_first_response_in_time_means_no_breach_ever() -> None:
    """S2: the first response stops the clock; the target passing later changes nothing."""
    sla = start_clock(OPENED, timedelta(minutes=15), AroundTheClock())
    sla.responded_at = OPENED + timedelta(minutes=14)
    assert not is_running(sla)
    assert not is_breached_at(sla, OPENED + timedelta(days=2))
    assert remaining(sla, OPENED + timedelta(minutes=14, seconds=1)) is None


def test_remaining_counts_down_to_zero_and_stops_on_breach() -> None:
    """S2/S3: the Case Detail shows time left; never negative; none once breached."""
    sla = start_clock(OPENED, timedelta(hours=1), AroundTheClock())
    assert remaining(sla, OPENED) == timedelta(hours=1)
    assert remaining(sla, OPENED + timedelta(minutes=45)) == timedelta(minutes=15)
    assert remaining(sla, OPENED + timedelta(hours=2)) == timedelta(0)
    sla.breached_at = OPENED + timedelta(hours=1)
    assert remaining(sla, OPENED + timedelta(hours=2)) is None
    assert not is_running(sla)


def test_retarget_recomputes_from_the_opening_time() -> None:
    """S4: P3 -> P1 at 10:00 on a Platinum case opened at 09:00: due 09:15, already past."""
    sla = start_clock(OPENED, timedelta(hours=4), AroundTheClock())
    now = OPENED + timedelta(hours=1)
    moved = retarget(sla, OPENED, timedelta(minutes=15))
    assert moved.due_at == OPENED + timedelta(minutes=15)
    assert moved.target == timedelta(minutes=15)
    assert is_breached_at(moved, now)
    assert remaining(moved, now) == timedelta(0)
    assert sla.due_at == OPENED + timedelta(hours=4), "the old SLA is not modified in place"


def test_lowering_the_priority_gives_more_time_from_the_opening() -> None:
    """S4: P1 -> P3 ten minutes in: due four hours after the opening, not after the change."""
    sla = start_clock(OPENED, timedelta(minutes=15), AroundTheClock())
    moved = retarget(sla, OPENED, timedelta(hours=4), AroundTheClock())
    assert moved.due_at == datetime(2025, 3, 4, 13, 0, tzinfo=UTC)
    assert not is_breached_at(moved, OPENED + timedelta(minutes=10))


def test_retarget_keeps_a_recorded_breach() -> None:
    """S3: a breach is recorded for good; a later priority change does not erase it."""
    sla = start_clock(OPENED, timedelta(minutes=15), AroundTheClock())
    sla.breached_at = OPENED + timedelta(minutes=15)
    moved = retarget(sla, OPENED, timedelta(hours=4))
    assert moved.breached_at == OPENED + timedelta(minutes=15)
