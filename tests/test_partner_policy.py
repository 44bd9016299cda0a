"""Partner targets in the policy file (P3, S5): a partner case's first-response targets are
data; a policy file without them (every file written before partners) stays valid and partner
cases then run on the S1 table."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from casework.domain.models import Priority
from casework.domain.sla import DEFAULT_POLICY, SlaPolicy
from casework.domain.tiers import GOLD, PLATINUM
from casework.settings import DEFAULT_POLICY_FILE
from casework.yamlfiles import FileRefused, load_model


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_an_old_policy_file_gives_partner_cases_the_s1_table() -> None:
    """S5/P3: the shipped file has no partner targets; partner cases use S1."""
    policy = load_model(DEFAULT_POLICY_FILE, SlaPolicy)
    assert policy.partner_targets is None
    for tier in (GOLD, PLATINUM):
        assert policy.partner_targets_for(tier) == DEFAULT_POLICY.targets_for(tier)


def test_partner_targets_come_from_the_policy_file(tmp_path: Path) -> None:
    """P3: the partner's targets by tier and priority; ours are unchanged; a tier the partner
    table leaves out falls back to S1."""
    path = write(
        tmp_path,
        """
        first_response_targets:
          GOLD: {P1: 30m, P2: 1h, P3: 8h}
          PLATINUM: {P1: 15m, P2: 1h, P3: 4h}
        partner_targets:
          GOLD: {P1: 2h, P2: 4h, P3: 1d}
        """,
    )
    policy = load_model(path, SlaPolicy)
    assert policy.partner_targets_for(GOLD)[Priority.P1] == timedelta(hours=2)
    assert policy.partner_targets_for(GOLD)[Priority.P3] == timedelta(days=1)
    assert policy.targets_for(GOLD)[Priority.P1] == timedelta(minutes=30)
    assert policy.partner_targets_for(PLATINUM) == policy.targets_for(PLATINUM)


def test_a_bad_partner_target_is_refused_at_its_line(tmp_path: Path) -> None:
    """S5: a partner target that is not a duration is refused whole, at its line."""
    path = write(
        tmp_path,
        """
        first_response_targets:
          GOLD: {P1: 30m, P2: 1h, P3: 8h}
          PLATINUM: {P1: 15m, P2: 1h, P3: 4h}
        partner_targets:
          GOLD: {P1: soon, P2: 4h, P3: 1d}
        """,
    )
    with pytest.raises(FileRefused) as refused:
        load_model(path, SlaPolicy)
    assert "policy.yaml:5: partner_targets.GOLD.P1: 'soon' is not a duration" in str(refused.value)
