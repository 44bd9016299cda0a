"""The escalation ladder's rules, pure (E3, S3), and the files that configure it: the policy's
acknowledgement window and the directory's support director, old files still loading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casework.domain.directory import Directory, EscalationManager, Shift, SupportDirector
from casework.domain.escalation import escalation_id_for, is_higher, ladder
from casework.domain.models import Priority
from casework.domain.sla import SlaPolicy
from casework.settings import DEFAULT_POLICY_FILE, DEMO_DIRECTORY
from casework.yamlfiles import FileRefused, load_model

MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
EVENING = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
NIGHT = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)


def manager(ident: str, start: str, end: str) -> EscalationManager:
    return EscalationManager(
        id=ident, name=ident.upper(), shift=Shift.model_validate({"start": start, "end": end})
    )


ROTA = [manager("em-a", "00:00", "08:00"), manager("em-b", "08:00", "16:00")]
ROTA += [manager("em-c", "16:00", "23:00")]
DIRECTOR = SupportDirector(id="dir-z", name="Z")


def test_the_ladder_starts_with_the_manager_on_duty_and_wraps_round_the_rota() -> None:
    """E3: first the manager on duty, then the rest of the rota in order, then the director."""
    assert [i for i, _ in ladder(ROTA, DIRECTOR, MORNING)] == ["em-b", "em-c", "em-a", "dir-z"]
    assert [i for i, _ in ladder(ROTA, DIRECTOR, EVENING)] == ["em-c", "em-a", "em-b", "dir-z"]


def test_a_gap_in_the_rota_starts_with_its_first_manager() -> None:
    """S3: the rota is 24x7; should it have a gap, its first manager answers."""
    assert [i for i, _ in ladder(ROTA, DIRECTOR, NIGHT)] == ["em-a", "em-b", "em-c", "dir-z"]


def test_without_a_support_director_the_ladder_ends_with_the_rota() -> None:
    assert [i for i, _ in ladder(ROTA, None, MORNING)] == ["em-b", "em-c", "em-a"]


@pytest.mark.parametrize(
    ("requested", "current", "higher"),
    [("P1", "P3", True), ("P2", "P3", True), ("P1", "P2", True), ("P3", "P1", False)]
    + [("P2", "P2", False), ("P2", "P1", False)],
)
def test_an_escalation_only_raises_the_priority(requested: str, current: str, higher: bool) -> None:
    """E4: P3 < P2 < P1."""
    assert is_higher(Priority(requested), Priority(current)) is higher


def test_escalation_ids_count_from_one_per_case() -> None:
    assert escalation_id_for("case-000123", 1) == "case-000123-E1"


# --- configuration ---------------------------------------------------------------------------


def test_the_acknowledgement_window_defaults_to_15_minutes() -> None:
    """E3: a policy file written before escalations still loads, with 15 minutes."""
    policy = load_model(DEFAULT_POLICY_FILE, SlaPolicy)
    assert policy.escalation_acknowledge_within == timedelta(minutes=15)
    older = SlaPolicy.model_validate(
        {"first_response_targets": policy.model_dump(mode="json")["first_response_targets"]}
    )
    assert older.escalation_acknowledge_within == timedelta(minutes=15)


def test_a_policy_sets_its_own_window_and_a_bad_one_is_refused_at_its_line(
    tmp_path: Path,
) -> None:
    """S5: durations as people write them; zero is refused with the line."""
    base = DEFAULT_POLICY_FILE.read_text().replace("escalation_acknowledge_within: 15m\n", "")
    good = tmp_path / "good.yaml"
    good.write_text(base + "escalation_acknowledge_within: 90s\n")
    assert load_model(good, SlaPolicy).escalation_acknowledge_within == timedelta(seconds=90)
    bad = tmp_path / "bad.yaml"
    bad.write_text(base + "escalation_acknowledge_within: 0s\n")
    with pytest.raises(FileRefused) as refused:
        load_model(bad, SlaPolicy)
    line = len(base.splitlines()) + 1
    assert str(refused.value) == (
        f"{bad}:{line}: escalation_acknowledge_within: must be a positive duration, not 0s"
    )


def test_the_support_director_is_optional_and_its_id_unique() -> None:
    """E3: a directory without a support director still loads; one whose id is taken is
    refused like any duplicate id."""
    demo = load_model(DEMO_DIRECTORY, Directory)
    assert demo.support_director is not None and demo.support_director.id == "dir-maya"
    data = demo.model_dump(mode="json")
    data.pop("support_director")
    assert Directory.model_validate(data).support_director is None
    data["support_director"] = {"id": "em-ines", "name": "Clash"}
    with pytest.raises(ValueError, match="id 'em-ines' is used twice"):
        Directory.model_validate(data)
