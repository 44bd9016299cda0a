"""The load file of `casework simulate` and its seeded draws (pure): bad input is refused with
the file's line and the reason before anything runs; the same seed draws the same week; Erlang
C's formula against the textbook's values."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from casework.cli import app
from casework.domain.directory import Directory
from casework.simulation.erlang import ErlangC
from casework.simulation.load import check_against, read_load
from casework.simulation.plan import arrivals_for_day, next_on_shift, service_time
from casework.simulation.run import roster_of
from casework.simulation.textbook import textbook_load
from casework.simulation.textbook_check import fifo_waits, spread
from casework.yamlfiles import FileRefused

DEMO = Path(__file__).parent.parent / "casework" / "data" / "demo-directory.yaml"
SAMPLE = Path(__file__).parent.parent / "casework" / "data" / "simulation-load.yaml"
MONDAY = datetime(2026, 11, 30, tzinfo=UTC)

SERVICE = """service:
  L0: {distribution: exponential, mean: 20m}
  L1: {distribution: exponential, mean: 1h}
"""


def refused(tmp_path: Path, text: str, directory: Directory) -> str:
    path = tmp_path / "load.yaml"
    path.write_text(text)
    with pytest.raises(FileRefused) as caught:
        load, source = read_load(path)
        check_against(load, source, str(path), directory)
    return str(caught.value)


def test_the_sample_load_fits_the_demo_directory(directory: Directory) -> None:
    load, text = read_load(SAMPLE)
    check_against(load, text, str(SAMPLE), directory)


def test_an_unknown_product_or_account_is_refused_at_its_line(
    tmp_path: Path, directory: Directory
) -> None:
    message = refused(
        tmp_path,
        "arrivals:\n"
        "  - {account: acme, priority: P1, product: FortiGate, per_hour: 1}\n"
        "  - {account: acme, priority: P1, product: FortiGizmo, per_hour: 1}\n"
        "  - {account: initech, priority: P2, product: FortiGate, per_hour: 1}\n" + SERVICE,
        directory,
    )
    assert (
        f"{tmp_path / 'load.yaml'}:3: arrivals.1.product: unknown product 'FortiGizmo'" in message
    )
    assert ":4: arrivals.2.account: unknown account 'initech'" in message


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("per_hour: -2", "a rate is cases per hour, from 0 to 1000; not -2"),
        ('per_hour: {"mon-fri 08-18": -1}', "'mon-fri 08-18': a rate is cases per hour"),
        ("per_hour: lots", "a rate is a number of cases per hour, not 'lots'"),
        ('per_hour: {"someday": 1}', "'someday' is not an hour window"),
        ('per_hour: {"mon 18-08": 1}', "hours must run forward"),
    ],
)
def test_rates_below_zero_or_unreadable_are_refused_at_their_line(
    tmp_path: Path, directory: Directory, entry: str, reason: str
) -> None:
    message = refused(
        tmp_path,
        "arrivals:\n"
        "  - {account: acme, priority: P1, product: FortiGate, per_hour: 1}\n"
        f"  - {{account: acme, priority: P2, product: FortiGate, {entry}}}\n" + SERVICE,
        directory,
    )
    assert ":3: arrivals.1.per_hour: " in message and reason in message, message


def test_distributions_and_probabilities_are_checked(tmp_path: Path, directory: Directory) -> None:
    message = refused(
        tmp_path,
        "arrivals:\n"
        "  - {account: acme, priority: P1, product: FortiGate, per_hour: 1}\n"
        "service:\n"
        "  L0: {distribution: lognormal, mean: 20m}\n"
        "  L1: {distribution: exponential, mean: -1h}\n"
        "escalation: {L0: 1.5, L3: 0.1}\n",
        directory,
    )
    assert ":4: service.L0: a lognormal distribution needs sigma" in message
    assert ":5: service.L1.mean: '-1h' is not a duration" in message
    assert ":6: escalation.L0: Input should be less than or equal to 1" in message
    message = refused(
        tmp_path,
        "arrivals:\n"
        "  - {account: acme, priority: P1, product: FortiGate, per_hour: 1}\n"
        + SERVICE
        + "escalation: {L3: 0.1}\n",
        directory,
    )
    assert ":6: escalation: L3 is the top of the ladder (E2)" in message, message


def test_a_queue_with_cases_but_nobody_on_shift_is_refused(
    tmp_path: Path, directory: Directory
) -> None:
    """Nobody on the roster works the hours a stream sends cases, or nobody can take its cases
    at a level they climb to (the demo has no L2 for FortiManager)."""
    night_only = directory.model_copy(
        update={
            "engineers": [
                e.model_copy(
                    update={"shift": e.shift.model_copy(update={"start": time(9), "end": time(17)})}
                )
                if e.level.value == "L0"
                else e
                for e in directory.engineers
            ]
        }
    )
    message = refused(
        tmp_path,
        "arrivals:\n"
        "  - {account: acme, priority: P1, product: FortiGate, per_hour: 1}\n"
        '  - {account: globex, priority: P3, product: FortiGate, per_hour: {"mon-sun 20-23": 2}}\n'
        + SERVICE,
        night_only,
    )
    assert (
        ":3: arrivals.1: the L0 queue gets these cases (FortiGate, P3) but nobody who can "
        "take them is on shift in any hour they arrive" in message
    ), message
    assert "arrivals.0" not in message
    message = refused(
        tmp_path,
        "arrivals:\n"
        "  - {account: acme, priority: P3, product: FortiManager, per_hour: 1}\n"
        + SERVICE
        + "  L2: {mean: 2h}\nescalation: {L0: 0.5, L1: 0.5}\n",
        directory,
    )
    assert (
        ":2: arrivals.0: the L2 queue gets these cases (FortiManager, P3) at L2 but nobody "
        "on the roster can take them: add a L2 engineer with skills FortiManager" in message
    ), message


def test_simulate_refuses_a_bad_load_before_running_anything(
    tmp_path: Path,
) -> None:
    path = tmp_path / "load.yaml"
    path.write_text(
        "arrivals:\n  - {account: acme, priority: P1, product: FortiGizmo, per_hour: 1}\n" + SERVICE
    )
    result = CliRunner().invoke(
        app, ["simulate", "--directory", str(DEMO), "--load", str(path), "--days", "1"]
    )
    assert result.exit_code == 2
    assert "load.yaml:2: arrivals.0.product: unknown product 'FortiGizmo'" in result.output
    assert "Nothing was simulated." in result.output
    for bad in (["--days", "0"], ["--days", "32"], ["--chart", "week.svg"]):
        result = CliRunner().invoke(
            app, ["simulate", "--directory", str(DEMO), "--load", str(SAMPLE), *bad]
        )
        assert result.exit_code == 2, result.output


def test_the_same_seed_draws_the_same_week_and_another_seed_another(directory: Directory) -> None:
    load, _ = read_load(SAMPLE)
    roster = roster_of(directory)
    week = [arrivals_for_day(load, roster, 7, day, MONDAY) for day in range(7)]
    again = [arrivals_for_day(load, roster, 7, day, MONDAY) for day in range(7)]
    other = [arrivals_for_day(load, roster, 8, day, MONDAY) for day in range(7)]
    assert week == again and week != other
    level = next(iter(load.service))
    assert service_time(load, 7, "case-000001", level, 0) == service_time(
        load, 7, "case-000001", level, 0
    )
    assert service_time(load, 7, "case-000001", level, 0) != service_time(
        load, 7, "case-000002", level, 0
    )


def test_arrivals_follow_the_rate_of_each_hour_window(directory: Directory) -> None:
    """Poisson counts: a week of the textbook's 2 an hour is 336 on average (sd 18)."""
    load = textbook_load(2.0, 1.0)
    roster = roster_of(directory)
    count = sum(len(arrivals_for_day(load, roster, 3, day, MONDAY)) for day in range(7))
    assert abs(count - 336) < 4 * math.sqrt(336)
    sample, _ = read_load(SAMPLE)
    phone = sample.arrivals[2]  # GOLD P3: 0.02 an hour, 0.2 in New York office hours
    new_york_morning = datetime(2026, 11, 30, 15, tzinfo=UTC)  # Monday 10:00 EST
    assert phone.rate(new_york_morning, ZoneInfo(sample.zone)) == 0.2
    assert phone.rate(MONDAY, ZoneInfo(sample.zone)) == 0.02


def test_an_engineer_off_shift_waits_for_their_next_shift(directory: Directory) -> None:
    shift = directory.engineers[0].shift.model_copy(update={"start": time(9), "end": time(17)})
    assert next_on_shift(shift, MONDAY) == MONDAY + timedelta(hours=9)
    assert next_on_shift(shift, MONDAY + timedelta(hours=10)) == MONDAY + timedelta(hours=10)


@pytest.mark.parametrize(
    ("arrival_rate", "service_rate", "servers", "p_wait", "mean_wait"),
    [
        (1.6, 2.0, 1, 0.8, 2.0),  # M/M/1: P(wait) = rho, Wq = rho / (mu - lambda)
        (1.6, 1.0, 2, 0.7111, 1.7778),  # textbook tables
        (4.0, 1.0, 5, 0.5541, 0.5541),
    ],
)
def test_erlang_c_gives_the_textbook_values(
    arrival_rate: float, service_rate: float, servers: int, p_wait: float, mean_wait: float
) -> None:
    queue = ErlangC(arrival_rate, service_rate, servers)
    assert queue.probability_of_waiting == pytest.approx(p_wait, abs=1e-4)
    assert queue.mean_wait == pytest.approx(mean_wait, abs=1e-4)
    with pytest.raises(ValueError, match="utilisation 1.00 >= 1"):
        ErlangC(2 * servers * service_rate, 2 * service_rate, servers)


def test_the_fifo_recursion_and_the_spread_of_a_run() -> None:
    """The textbook check's yardstick (casework.simulation.textbook_check)."""
    assert fifo_waits([0.0, 0.5, 1.0], [1.0, 1.0, 1.0], 1) == [0.0, 0.5, 1.0]
    assert fifo_waits([0.0, 0.5, 1.0], [1.0, 1.0, 1.0], 2) == [0.0, 0.0, 0.0]
    queue = ErlangC(0.5, 1.0, 1)
    expected = (queue.probability_of_waiting, queue.mean_wait)
    short = spread(0.5, 1.0, 1, 200, 0.1, expected, replications=300)
    long = spread(0.5, 1.0, 1, 2000, 0.1, expected, replications=300)
    assert long.p_wait < short.p_wait and long.mean_wait < short.mean_wait


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            b"escalate_now: {probability: 0.1, after: 99999999999999999999d}\n",
            ":7: escalate_now.after: '99999999999999999999d' is longer than any duration can be",
        ),
        (
            b"escalate_now: {probability: 0.1, after: 31d}\n",
            ":7: escalate_now.after: must be at most 30 days",
        ),
        (
            b"zone: UTC\nzone: Europe/Paris\n",
            ":8: zone: written twice in one mapping (lines 7 and 8); keep one",
        ),
        (b"# caf\xe9\n", ":7: not UTF-8 text (byte 0xe9 at column 6); save the file as UTF-8"),
    ],
    ids=["huge duration", "long duration", "a key twice", "not UTF-8"],
)
def test_a_bad_load_file_is_refused_with_its_line_and_no_traceback(
    tmp_path: Path, raw: bytes, reason: str
) -> None:
    """Refused by `casework simulate` before anything runs (exit 2), with the file's line:
    never an OverflowError or a UnicodeDecodeError, never the last of two keys taken silently."""
    path = tmp_path / "load.yaml"
    path.write_bytes(
        b"arrivals:\n  - {account: acme, priority: P1, product: FortiGate, per_hour: 1}\n"
        + SERVICE.encode()
        + b"  L2: {mean: 2h}\n"
        + raw
    )
    result = CliRunner().invoke(
        app, ["simulate", "--directory", str(DEMO), "--load", str(path), "--days", "1"]
    )
    assert result.exit_code == 2, result.output
    assert f"{path}{reason}" in result.output, result.output
    assert "Traceback" not in result.output and "Nothing was simulated." in result.output


def test_a_key_written_twice_inside_a_stream_names_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "load.yaml"
    path.write_text(
        "arrivals:\n"
        "  - account: acme\n"
        "    priority: P1\n"
        "    product: FortiGate\n"
        "    per_hour: 1\n"
        "    per_hour: 3\n" + SERVICE
    )
    with pytest.raises(FileRefused) as refused:
        read_load(path)
    assert str(refused.value) == (
        f"{path}:6: arrivals.0.per_hour: written twice in one mapping (lines 5 and 6); keep one"
    )


def test_a_load_where_no_case_would_arrive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "load.yaml"
    path.write_text(
        "arrivals:\n"
        "  - {account: acme, priority: P1, product: FortiGate, per_hour: 0}\n"
        '  - {account: acme, priority: P2, product: FortiGate, per_hour: {"mon-fri 09-17": 0}}\n'
        + SERVICE
    )
    with pytest.raises(FileRefused) as refused:
        read_load(path)
    assert f"{path}:1: arrivals: every rate is 0, so no case would arrive" in str(refused.value)


def test_every_draw_is_a_whole_number_of_minutes(directory: Directory) -> None:
    """The simulation's resolution (casework.simulation.clock): arrivals, service times and
    acknowledgements fall on whole minutes, so figures never carry the machine's speed."""
    load, _ = read_load(SAMPLE)
    arrivals = arrivals_for_day(load, roster_of(directory), 3, 0, MONDAY)
    assert arrivals and all(a.at.second == 0 and a.at.microsecond == 0 for a in arrivals)
    for n in range(1, 50):
        took = service_time(load, 3, f"case-{n:06d}", next(iter(load.service)), 0)
        assert took >= timedelta(minutes=1) and took % timedelta(minutes=1) == timedelta(0)
