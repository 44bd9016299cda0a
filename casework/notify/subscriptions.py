"""A webhook subscription as an operator asks for it (CLI and door): checked here once."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from casework.domain.validation import one_line
from casework.notify.events import check_events


class Subscription(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: Annotated[str, AfterValidator(one_line)] = Field(max_length=300, pattern=r"^https?://\S+$")
    events: list[str] = Field(default_factory=lambda: ["all"], max_length=10)

    @field_validator("events")
    @classmethod
    def _known(cls, events: list[str]) -> list[str]:
        return check_events(events)


def subscription(url: str, events: list[str]) -> Subscription:
    """Raises ValueError with what is wrong, in one sentence per field."""
    try:
        return Subscription(url=url, events=events)
    except ValidationError as e:
        problems = []
        for error in e.errors():
            field = ".".join(str(p) for p in error["loc"]) or "body"
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "string_pattern_mismatch":
                message = "must be an http:// or https:// URL"
            problems.append(f"{field}: {message}")
        raise ValueError("; ".join(problems)) from None
