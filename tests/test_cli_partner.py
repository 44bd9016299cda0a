"""Partner cases (P3, P4) from a terminal: `casework open --channel partner --partner ...`,
`casework show` naming the partner and the vendor escalation, and our L3 working the
escalation by its number `case-NNNNNN-esc-1`; refusals print the reason and change nothing."""

from __future__ import annotations

import pytest

from casework.store import Store
from tests import test_cli
from tests.conftest import Desk

pytestmark = pytest.mark.timeout(60)

cli_env = test_cli.cli_env

PARTNER_OPEN = [
    *("--profile", "nw-nora", "open", "--channel", "partner", "--partner", "northwind-it"),
    *("--account", "soylent", "--contact", "soylent-sam"),
    *test_cli.OPEN[7:],
]


def owned_by(engineer_id: str):  # type: ignore[no-untyped-def]
    return lambda v: v.state == "in_progress" and v.owner and v.owner.engineer_id == engineer_id


async def test_a_partner_case_and_its_escalation_from_the_cli(cli_env: Desk, store: Store) -> None:
    """P3: the partner opens and works the case at L0-L2; P4: at L2 `casework escalate` starts
    the vendor escalation, which `casework show` names on both sides and our L3 works by its
    own number; the resolution comes back to the partner case."""
    desk = cli_env
    case_id = test_cli.opened_case(await test_cli.cli(*PARTNER_OPEN), desk)
    for engineer in ("nw-nora", "nw-omar"):
        await desk.until(case_id, owned_by(engineer))
        await test_cli.act_ok("--profile", engineer, "escalate", case_id, "--reason", "next level")
    await desk.until(case_id, owned_by("nw-pia"))

    shown = await test_cli.act_ok("--profile", "nw-pia", "show", case_id)
    assert "northwind-it (Partner Branded Support)" in shown
    assert "partner:northwind-it" in shown and "via partner" in shown

    escalated = await test_cli.act_ok("--profile", "nw-pia", "escalate", case_id, "--reason", "bug")
    escalation = f"{case_id}-esc-1"
    desk.opened.insert(0, escalation)
    assert escalation in escalated
    await desk.until(escalation, owned_by("gec-hugo"))
    ours = await test_cli.act_ok("--profile", "gec-hugo", "show", escalation)
    assert f"partner case {case_id}" in ours and "Hugo Brandt (gec-hugo)" in ours

    await test_cli.act_ok(
        "--profile", "gec-hugo", "resolve", escalation, "--resolution", "Use 7.4.4"
    )
    await desk.until(case_id, owned_by("nw-pia"))
    back = await test_cli.act_ok("--profile", "nw-pia", "show", case_id)
    assert f"{escalation}: resolved" in " ".join(back.split()) and "Use 7.4.4" in back
    feed = await desk.until(case_id, lambda v: any(e.kind == "vendor_close" for e in v.feed))
    vendor = [e.kind for e in feed.feed if e.kind.startswith("vendor_")]
    assert vendor[-2:] == ["vendor_resolve", "vendor_close"], "the resolution comes first"


@pytest.mark.parametrize(
    ("profile", "args", "code", "message"),
    [
        ("nw-nora", ["--partner", "nobody"], 1, "nw-nora opens cases for northwind-it only"),
        ("acme-alice", [], 1, "a contact opens a case on the web"),
        ("cc-dana", ["--partner", "nobody"], 1, "Customer Care: they open phone cases"),
    ],
    ids=["another-partner", "a-contact", "customer-care"],
)
async def test_a_refused_partner_open_says_why(
    cli_env: Desk, store: Store, profile: str, args: list[str], code: int, message: str
) -> None:
    """P3/P4: a partner case is opened by the partner's own engineers, for their partner."""
    base = [a for a in PARTNER_OPEN[2:] if a not in ("--partner", "northwind-it")]
    result = await test_cli.cli("--profile", profile, *base, *args)
    assert result.exit_code == code, result.output
    assert message in " ".join(result.output.split())
    assert store.tracker.open_case_counts() == {}
