"""`casework simulate` from the outside, as a user runs it (a process of its own,
tests/simulate_cli.py), on the demo directory and the sample load: the same seed gives the same
bytes, replications give intervals, `--compare` says which differences are noise, the tables fit
a terminal; a run whose clock jumps, or whose engine stops moving, stops with exit 3 and says
why, never quietly wrong and never hanging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.simulate_cli import DEMO, SAMPLE, casework

FILES = ["--directory", str(DEMO), "--load", str(SAMPLE)]


def more_l1(tmp_path: Path) -> Path:
    more = tmp_path / "more-l1.yaml"
    more.write_text(
        DEMO.read_text().replace(
            "  - {id: gsc-farid,",
            "  - {id: gsc-zoe, name: Zoe Park, level: L1, skills: [FortiGate, FortiAnalyzer]}\n"
            "  - {id: gsc-farid,",
        )
    )
    return more


@pytest.mark.timeout(400)
@pytest.mark.slow
def test_the_same_seed_gives_the_same_bytes_with_intervals_and_a_paired_comparison(
    tmp_path: Path,
) -> None:
    """Two rosters, two replications each, twice: the JSON is byte for byte the same; each
    figure has its interval; the comparison pairs the seeds and says what is noise."""
    args = [
        "simulate", *FILES, "--days", "1", "--seed", "5", "--replications", "2", "--jobs", "2",
        "--compare", str(more_l1(tmp_path)), "--output", "json",
    ]  # fmt: skip
    chart = tmp_path / "day.png"
    first = casework(*args, "--chart", str(chart))
    again = casework(*args)
    assert first.code == 0 and again.code == 0, first.stderr + again.stderr
    assert first.stdout == again.stdout
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    answer = json.loads(first.stdout)
    demo, more = answer["rosters"]
    assert demo["label"] == "demo-directory" and more["label"] == "more-l1"
    assert [r["seed"] for r in demo["runs"]] == [5, 6] == [r["seed"] for r in more["runs"]]
    for run in demo["runs"]:
        assert run["tally"]["refused"] == 0, run["tally"]["refusals"]
        assert run["tally"]["opened"] == run["tally"]["planned"] > 0
    every = {row["group"]: row["figures"] for row in demo["summary"]["first_response"]}["all"]
    assert every["cases"]["n"] == 2 and every["service_level"]["half_width"] is not None
    levels = {row["group"] for row in demo["summary"]["levels"]}
    assert {"L0", "L1"} <= levels
    assert any(d["inside_noise"] is not None for d in answer["comparison"])
    same = [d for d in answer["comparison"] if d["figure"] == "cases" and d["group"] == "all"]
    assert same and same[0]["difference"]["mean"] == 0  # the same arrivals for both rosters


@pytest.mark.timeout(300)
def test_the_table_answers_the_staffing_question_in_120_columns() -> None:
    table = casework("simulate", *FILES, "--days", "1", "--seed", "5")
    assert table.code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= 120, max(lines, key=len)
    text = table.stdout
    for heading in ("First response (S1, S2)", "Each level", "occupancy", "within target"):
        assert heading in text
    assert "customer-care L0 PLATINUM P1" in text and "Mon" in text


@pytest.mark.timeout(300)
def test_a_run_whose_clock_jumps_stops_with_exit_3_and_says_why() -> None:
    """Time skipping unlocked while the crowd opens a case (the lead of issue 29): the server
    skips a day under it; the run stops instead of measuring a day that did not happen."""
    stopped = casework("jump", "simulate", *FILES, "--days", "1", module="tests.simulation_faults")
    assert stopped.code == 3, stopped.stderr
    assert "the server's clock moved 1 day" in stopped.stderr
    assert "Nothing it measured is shown." in stopped.stderr
    assert stopped.stdout == ""


@pytest.mark.timeout(300)
def test_an_engine_that_stops_moving_is_reported_not_waited_for() -> None:
    stopped = casework(
        "stall", "simulate", *FILES, "--days", "1", "--stall", "10",
        module="tests.simulation_faults",
    )  # fmt: skip
    assert stopped.code == 3, stopped.stderr
    assert "the engine stopped moving: nothing moved for 1" in stopped.stderr
    assert "the server's clock is locked" in stopped.stderr
    assert "its activity sim_act is pending" in stopped.stderr
