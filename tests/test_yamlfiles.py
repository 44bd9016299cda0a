"""The one YAML loader (casework.yamlfiles): what the files mean is what PyYAML made of them, a
file is refused with its line, and what casework writes reads back the same."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from casework.domain.directory import Directory
from casework.domain.sla import DEFAULT_POLICY, SlaPolicy
from casework.settings import DEFAULT_POLICY_FILE
from casework.yamlfiles import FileRefused, dump_text, load_data, load_model, parse_model


def test_values_mean_what_they_meant_under_pyyaml() -> None:
    """YAML 1.1, as PyYAML read the files: `yes` is true, an unquoted 12:00 a number of
    minutes, a bare date a date; quoted, each stays a text."""
    data = load_data('a: yes\nb: 12:00\nc: "12:00"\nd: 2026-01-12\ne: "yes"\n', "x.yaml")
    assert data == {"a": True, "b": 720, "c": "12:00", "d": date(2026, 1, 12), "e": "yes"}


def test_what_casework_writes_reads_back_the_same() -> None:
    """Texts that YAML 1.1 would read as something else are quoted, keys keep their order."""
    data = {"start": "12:00", "flag": "yes", "mode": "0755", "day": date(2026, 1, 2), "n": [1]}
    text = dump_text(data)
    assert load_data(text, "x.yaml") == data
    assert list(load_data(text, "x.yaml")) == ["start", "flag", "mode", "day", "n"]


def test_the_shipped_policy_written_and_read_again_is_the_same_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(dump_text(DEFAULT_POLICY.model_dump(mode="json", exclude_none=True)))
    assert load_model(path, SlaPolicy) == load_model(DEFAULT_POLICY_FILE, SlaPolicy)


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "a: 1\nb:\n  c: 2\n  c: 3\n",
            "x.yaml:4: b.c: written twice in one mapping (lines 3 and 4)",
        ),
        ("- {a: 1, a: 2}\n", "x.yaml:1: 0.a: written twice in one mapping (lines 1 and 1)"),
        ("a: [1, 2\nb: 3\n", "x.yaml:2: not valid YAML: expected ',' or ']', but got ':'"),
        ("a: *nowhere\n", "x.yaml:1: not valid YAML: found undefined alias 'nowhere'"),
        ("a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 600)), "x.yaml: nested deeper"),
        ("a: " + "[" * 101 + "]" * 101, "x.yaml:1: nested deeper than 100 levels, too deep for"),
        (
            "a: &a [*a]\n",
            "x.yaml:1: nested deeper than 100 levels, too deep for a settings file (is an alias",
        ),
    ],
    ids=["key twice", "on one line", "syntax", "unknown alias", "deep", "brackets", "self alias"],
)
def test_a_bad_text_is_refused_with_its_line(text: str, expected: str) -> None:
    with pytest.raises(FileRefused) as refused:
        load_data(text, "x.yaml")
    assert str(refused.value).startswith(expected)


def test_a_model_error_names_the_line_of_the_field() -> None:
    text = "products: [FortiGate]\nescalation_managers:\n  - {id: em-a}\n"
    with pytest.raises(FileRefused) as refused:
        parse_model(text, Directory, "d.yaml")
    assert str(refused.value) == "d.yaml:3: escalation_managers.0.name: Field required"
