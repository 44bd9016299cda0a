"""Case numbers as people write them: one reading for the CLI, the door and the client."""

from __future__ import annotations

import pytest

from casework.domain.case_ids import case_id_from, intake_id
from casework.errors import CaseworkError


@pytest.mark.parametrize(
    ("typed", "case_id"),
    [
        ("123", "case-000123"),
        (" 7 ", "case-000007"),
        ("case-000123", "case-000123"),
        ("case-1234567", "case-1234567"),
        ("case-000123-esc-1", "case-000123-esc-1"),
    ],
)
def test_a_case_number_is_read_as_people_write_it(typed: str, case_id: str) -> None:
    assert case_id_from(typed) == case_id


@pytest.mark.parametrize("typed", ["", "case-12", "abc", "case-000123-esc", "-1", "1.5"])
def test_anything_else_is_refused_saying_how_to_write_one(typed: str) -> None:
    with pytest.raises(CaseworkError, match="write it like case-000123 or 123"):
        case_id_from(typed)


def test_a_number_too_long_to_be_a_case_is_refused_not_parsed() -> None:
    """Python refuses to parse an integer of more than 4,300 digits with a ValueError: the
    CLI used to crash on one; now it is refused like any other bad case number."""
    with pytest.raises(CaseworkError, match="is not a case number") as refused:
        case_id_from("9" * 5_000)
    assert len(str(refused.value)) < 200


def test_the_door_and_the_cli_refuse_with_the_same_sentence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import typer

    from casework.cli.common import case_number
    from casework.door.center import case_number as door_case_number
    from casework.door.errors import DoorError

    with pytest.raises(typer.Exit) as cli_exit:
        case_number("nope")
    assert cli_exit.value.exit_code == 2
    assert "write it like case-000123 or 123" in capsys.readouterr().err
    with pytest.raises(DoorError) as door:
        door_case_number("nope")
    assert door.value.status == 400 and "write it like case-000123 or 123" in str(door.value)


def test_an_intake_is_named_after_its_request() -> None:
    assert intake_id("req-1") == "intake-req-1"
