"""Partner cases (P3, P4) from a terminal: `casework open --channel partner --partner ...`,
`casework show` naming the partner and the vendor escalation, and our L3 working the
escalation by its number `case-NNNNNN-esc-1`; refusals print the reason and change nothing."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import httpx
import pytest

from casework.domain.directory import Directory
from casework.domain.models import FeedEntry
from casework.domain.partner import PROGRESS_KINDS
from casework.store import Store
from tests import test_cli
from tests.conftest import Desk
from tests.door_helpers import key_for
from tests.test_partner_cases import with_another_partner

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
    ours = (await desk.until(escalation, lambda v: v.state == "closed")).feed
    told = [f"vendor_{e.kind}" for e in ours if told_to_partner(e, "northwind-it")]
    assert vendor == told, "the partner case sees our progress in the order we made it"
    assert vendor[-3:] == ["vendor_resolve", "vendor_first_response", "vendor_close"]


def told_to_partner(entry: FeedEntry, partner_contact: str) -> bool:
    """P4: what our escalation tells the partner case: its progress, less what the partner
    itself said (but its close)."""
    if entry.refused or entry.kind not in PROGRESS_KINDS:
        return False
    return entry.actor != partner_contact or entry.kind == "close"


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


async def test_the_partners_engineers_escalate_now_on_its_escalation_everywhere(
    cli_env: Desk, store: Store, directory: Directory, tmp_path: Path
) -> None:
    """P4/E3, as the README promises: on the vendor escalation the partner is our customer, so
    its engineers see it and press Escalate Now, from the CLI and from the page, and Customer
    Care records one's call with --for; a customer of another account, the partner's own
    customer and another partner's engineer are refused, saying who may (exit 1), and nothing
    is escalated."""
    desk = cli_env
    store.directory.replace(with_another_partner(directory))
    profiles = tmp_path / "state" / "profiles.toml"
    url = tomllib.loads(profiles.read_text())["profiles"]["nw-pia"]["url"]
    with profiles.open("a") as extra:  # ew-eve joined after the engine wrote its profiles
        extra.write(f'[profiles."ew-eve"]\nurl = "{url}"\nkey = "{key_for(store, "ew-eve")}"\n')
    case_id = test_cli.opened_case(await test_cli.cli(*PARTNER_OPEN), desk)
    for engineer in ("nw-nora", "nw-omar"):
        await desk.until(case_id, owned_by(engineer))
        await test_cli.act_ok("--profile", engineer, "escalate", case_id, "--reason", "next level")
    await desk.until(case_id, owned_by("nw-pia"))
    await test_cli.act_ok("--profile", "nw-pia", "escalate", case_id, "--reason", "bug")
    escalation = f"{case_id}-esc-1"
    desk.opened.insert(0, escalation)
    await desk.until(escalation, owned_by("gec-hugo"))

    for profile in ("acme-alice", "soylent-sam", "ew-eve"):
        refused = await test_cli.cli(
            "--profile", profile, "escalate-now", escalation, "--reason", "expertise"
        )
        assert refused.exit_code == 1, refused.output
        said = " ".join(refused.output.split())
        assert "an engineer of northwind-it" in said and f"{profile} is not one" in said
    assert not (await desk.view(escalation)).escalations

    shown = await test_cli.act_ok("--profile", "nw-omar", "show", escalation, "--output", "json")
    assert "escalate_now" in json.loads(shown)["allowed_actions"]
    out = await test_cli.act_ok(
        "--profile", "nw-omar", "escalate-now", escalation, "--reason", "business_impact"
    )
    assert f"escalation {escalation}-E1: with em-" in out
    manager = (await desk.view(escalation)).escalations[-1].manager.id
    await test_cli.act_ok("--profile", manager, "de-escalate", escalation, "--note", "on track")

    out = await test_cli.act_ok(
        "--profile", "cc-dana", "escalate-now", escalation, "--for", "nw-pia", "--reason", "other"
    )
    assert f"escalation {escalation}-E2" in out
    by_phone = (await desk.view(escalation)).escalations[-1]
    assert (by_phone.raised_by, by_phone.recorded_by) == ("nw-pia", "cc-dana")
    manager = by_phone.manager.id
    await test_cli.act_ok("--profile", manager, "de-escalate", escalation, "--note", "on track")

    async with httpx.AsyncClient(base_url=url, timeout=60) as page:
        form = await page.get("/signin?next=/cases")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf, form.text[:300]
        credential = tomllib.loads(profiles.read_text())["profiles"]["nw-pia"]["key"]
        signed_in = await page.post(
            "/signin", data={"credential": credential, "csrf": csrf.group(1), "next": "/cases"}
        )
        assert signed_in.status_code == 303, signed_in.text[:300]
        shown_page = await page.get(f"/cases/{escalation}")
        assert shown_page.status_code == 200, shown_page.text[:500]
        assert f'action="/cases/{escalation}/act/escalate_now"' in shown_page.text
        assert "/act/respond" not in shown_page.text, "not our engineer's forms"
        session_csrf = re.search(r'name="csrf" value="([^"]+)"', shown_page.text)
        assert session_csrf
        pressed = await page.post(
            f"/cases/{escalation}/act/escalate_now",
            data={"reason": "lack_of_progress", "csrf": session_csrf.group(1)},
        )
        assert pressed.status_code == 303, pressed.text[:500]
    on_page = (await desk.view(escalation)).escalations[-1]
    assert (on_page.escalation_id, on_page.raised_by) == (f"{escalation}-E3", "nw-pia")
