"""A case's subject (issue 26): a short line asked for at opening; an integration that sends
none, and a case opened before subjects, show their description's first line."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from casework.domain.models import OpenCaseRequest
from casework.domain.validation import SUBJECT_CHARS, subject_of
from tests.conftest import case_request


def test_a_subject_given_is_the_subject() -> None:
    assert subject_of("VPN drops", "line one\nline two") == "VPN drops"


def test_without_one_the_first_non_blank_line_of_the_description_stands_in() -> None:
    assert subject_of(None, "\n  \n  HA fails over  \nthen more") == "HA fails over"


def test_a_long_first_line_is_cut_to_the_bound() -> None:
    derived = subject_of(None, "x" * 500)
    assert len(derived) == SUBJECT_CHARS
    assert derived.endswith("…")


def test_a_request_without_subject_still_opens() -> None:
    request = case_request()
    assert request.subject is None
    again = OpenCaseRequest.model_validate(request.model_dump(exclude={"subject"}))
    assert again == request


@pytest.mark.parametrize(
    ("subject", "says"),
    [
        ("", "at least 1 character"),
        ("x" * (SUBJECT_CHARS + 1), f"at most {SUBJECT_CHARS} characters"),
        ("two\nlines", "must be one line"),
        ("bell\x07", "control character"),
    ],
)
def test_a_bad_subject_is_refused_saying_why(subject: str, says: str) -> None:
    with pytest.raises(ValidationError) as refused:
        case_request(subject=subject)
    assert says in str(refused.value)
