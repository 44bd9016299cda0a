"""`casework simulate` from the outside, on the demo directory and the sample load: a day runs
through the real engine and repeats exactly with the same seed; `--compare` runs a second
roster side by side; `--chart` draws a PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from casework.cli import app

DATA = Path(__file__).parent.parent / "casework" / "data"
DEMO, SAMPLE = DATA / "demo-directory.yaml", DATA / "simulation-load.yaml"


def simulate(*args: str) -> Any:
    result = CliRunner().invoke(
        app, ["simulate", "--directory", str(DEMO), "--load", str(SAMPLE), "--days", "1", *args]
    )
    assert result.exit_code == 0, result.output
    return result


def counts(run: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What a repeat must reproduce: per group, the counts and escalations (times carry the
    server's sub-second drift while the engine works)."""
    return [
        (g["queue"], g["tier"], g["priority"], g["cases"], g["breached"], g["escalated_to"])
        for g in [*run["groups"], run["total"]]
    ] + [tuple(sorted(run["tally"].items()))]


@pytest.mark.timeout(300)
def test_a_day_repeats_exactly_and_compares_with_a_second_roster(tmp_path: Path) -> None:
    more = tmp_path / "more-l1.yaml"
    more.write_text(
        DEMO.read_text().replace(
            "  - {id: gsc-farid,",
            "  - {id: gsc-zoe, name: Zoe Park, level: L1, skills: [FortiGate, FortiAnalyzer]}\n"
            "  - {id: gsc-farid,",
        )
    )
    chart = tmp_path / "day.png"
    both = json.loads(
        simulate(
            "--seed", "5", "--output", "json", "--compare", str(more), "--chart", str(chart)
        ).stdout
    )
    first, second = both["runs"]
    assert first["label"] == "demo-directory" and second["label"] == "more-l1"
    assert first["total"]["cases"] > 0 and first["total"]["cases"] == second["total"]["cases"]
    assert first["tally"]["refused"] == 0, first["tally"]["refusals"]
    assert "customer-care" in {g["queue"] for g in first["groups"]}
    assert [d["group"] for d in both["difference"]][-1] == "all"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = json.loads(simulate("--seed", "5", "--output", "json").stdout)
    assert counts(again) == counts(first)
    table = simulate("--seed", "5").stdout
    assert "customer-care PLATINUM P1" in table and "within target" in table
