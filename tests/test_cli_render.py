"""What `casework show` prints, from hand-built cases and no server: the pure renderers of
`casework.cli.render_case` on views made the way the case workflow makes them (`present`, and
`redact` for a viewer outside a restricted case's queue, U5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console, RenderableType

from casework.cli.render import case_list
from casework.cli.render_case import case_view, escalations_table
from casework.client import CaseSummary
from casework.domain.models import (
    Assignment,
    Attachment,
    CaseState,
    CaseView,
    ClockSpec,
    Entitlement,
    Escalation,
    EscalationStep,
    FeedEntry,
    IntakeResult,
    Level,
    Priority,
    SlaState,
    Tier,
    UsCitizenTerms,
    VendorEscalation,
)
from casework.domain.presentation import present
from casework.domain.sla import clock_for
from casework.domain.tiers import PLATINUM
from casework.domain.us_citizen import WITHHELD, may_see_content, redact
from tests.conftest import case_request

SECRET = "Classified enclave firewall drops IPsec tunnel to site Bravo-7"
NOTE = "Tunnel to Bravo-7 drops at 02:00 UTC"
LOG_NAME = "bravo7-ike-debug.log"
EASTERN = ClockSpec(kind="business_hours", zone="America/New_York")

OPENED = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in New York
FRIDAY_LATE = datetime(2026, 11, 6, 21, 50, tzinfo=UTC)  # Friday 16:50 in New York
SATURDAY_NOON = datetime(2026, 11, 7, 12, 0, tzinfo=UTC)


def text_of(renderable: RenderableType) -> str:
    console = Console(record=True, width=120)
    console.print(renderable)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


def line_of(text: str, label: str) -> str:
    """The value beside `label` in the case's facts, its wrapped lines joined."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(label + " "):
            indent = len(line) - len(line.removeprefix(label).lstrip())
            value = [line[indent:]]
            for more in lines[i + 1 :]:
                if more[:indent].strip() or not more.strip():
                    break
                value.append(more[indent:])
            return " ".join(value)
    raise AssertionError(f"no {label!r} line in:\n{text}")


def table_rows(text: str) -> dict[str, list[str]]:
    """A table's rows by their first cell, each cell's wrapped lines joined."""
    rows: dict[str, list[str]] = {}
    current: list[list[str]] = []
    for line in text.splitlines():
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.strip("│").split("│")]
        if cells[0]:
            current = [[c] for c in cells]
            rows[cells[0]] = []
        else:
            for parts, c in zip(current, cells, strict=True):
                parts.append(c)
        rows[current[0][0]] = [" ".join(p for p in parts if p) for parts in current]
    return rows


def words(text: str) -> str:
    """The text with its line wrapping undone, for sentences longer than a line."""
    return " ".join(text.split())


def case(
    *,
    account: str = "acme",
    contact: str = "acme-alice",
    contacts: tuple[str, ...] = ("acme-alice", "acme-bob"),
    tier: Tier = PLATINUM,
    clock: ClockSpec | None = None,
    restricted: bool = False,
    opened_at: datetime = OPENED,
    target: timedelta = timedelta(minutes=15),
    description: str = "HA cluster fails over every few minutes",
    **fields: Any,
) -> CaseState:
    """A case in progress at L0 with Dana, as the workflow keeps it."""
    clock = clock or ClockSpec()
    entitlement = Entitlement(
        tier=tier,
        targets={Priority.P1: target, Priority.P2: target * 4, Priority.P3: target * 16},
        clock=clock,
        us_citizen=UsCitizenTerms() if restricted else None,
        partner_id=fields.pop("partner_id", None),
    )
    intake = IntakeResult(
        case_id="case-000042",
        request=case_request(account_id=account, contact_id=contact, description=description),
        account_name=account.title(),
        contact_name=contact,
        account_contacts=list(contacts),
        entitlement=entitlement,
        escalated_from=fields.pop("escalated_from", None),
    )
    sla = SlaState(target=target, due_at=clock_for(clock).due(opened_at, target))
    return CaseState(
        case_id="case-000042",
        intake=intake,
        state="in_progress",
        priority=Priority.P1,
        opened_at=opened_at,
        owner=Assignment(
            engineer_id="cc-dana", engineer_name="Dana Park", level=Level.L0, queue="gsc"
        ),
        sla=sla,
        **fields,
    )


def view_of(state: CaseState, viewer: str, now: datetime) -> CaseView:
    """What the `view` query answers `viewer` at `now`."""
    view = present(
        state, viewer, now, ["respond", "comment"], clock_for(state.intake.entitlement.clock)
    )
    return view if may_see_content(state, viewer) else redact(view, state)


def shown(state: CaseState, viewer: str = "operator", now: datetime = OPENED) -> str:
    return text_of(case_view(view_of(state, viewer, now), viewer, now))


# --- U5: a restricted case seen from outside its queue ----------------------------------------


def restricted_case() -> CaseState:
    """Cyberdyne's US Citizen Support case, worked by Kara of the restricted queue, with a
    customer comment and an attached log."""
    return case(
        account="cyberdyne",
        contact="cyberdyne-judy",
        contacts=("cyberdyne-judy", "cyberdyne-ivan"),
        clock=EASTERN,
        restricted=True,
        description=SECRET,
        restricted_members=["usc-kara", "usc-liam"],
        feed=[
            FeedEntry(at=OPENED, actor="usc-kara", kind="assigned", text="assigned to usc-kara"),
            FeedEntry(at=OPENED, actor="cyberdyne-judy", kind="comment", text=NOTE),
        ],
        attachments=[
            Attachment(
                id="att-1",
                name=LOG_NAME,
                sha256="ab" * 32,
                size=2048,
                uploaded_by="cyberdyne-judy",
                uploaded_at=OPENED,
            )
        ],
    )


def test_a_restricted_case_seen_from_outside_its_queue_shows_only_that_things_exist() -> None:
    """U5: the description, notes, file names and contacts are withheld markers; the case's
    shape (feed events, the attachment's id and size) is there."""
    text = shown(restricted_case(), viewer="gsc-erin")

    assert "US Citizen Support — need-to-know (restricted queue only)" in text
    assert (
        "content withheld: gsc-erin is neither a member of the restricted queue nor a contact "
        "of the account, so notes, attachments and contacts are shown as existing, not what "
        "they say (U5)"
    ) in words(text)
    assert "the default viewer, operator" not in words(text)
    assert line_of(text, "description") == WITHHELD
    assert WITHHELD in line_of(text, "account")  # the contact
    for secret in (SECRET, NOTE, LOG_NAME, "cyberdyne-judy"):
        assert secret not in text
    assert words(text).count("[withheld: US Citizen Support,") >= 4  # + the note and the file
    assert "[contact]" in text  # who commented and who attached, not their name
    assert "att-1" in text and "2.0 KiB" in text
    assert "comment" in text and "assigned" in text


def test_the_default_viewer_is_told_how_to_look_with_a_name() -> None:
    text = words(shown(restricted_case(), viewer="operator"))

    assert "content withheld: operator is neither a member" in text
    assert (
        "the default viewer, operator, sees no content of a restricted case: look with --as and "
        "a restricted-queue engineer (`casework directory engineers`) or a contact"
    ) in text
    assert SECRET not in text


def test_a_member_of_the_restricted_queue_and_the_customer_see_everything() -> None:
    for viewer in ("usc-kara", "cyberdyne-ivan"):
        text = shown(restricted_case(), viewer=viewer)

        assert "US Citizen Support — need-to-know" in text
        assert "content withheld" not in text
        assert WITHHELD not in text
        assert line_of(text, "description") == SECRET
        assert NOTE in text and LOG_NAME in text and "cyberdyne-judy" in text


# --- the SLA clock (S1-S3, U4) ----------------------------------------------------------------


def test_a_running_clock_shows_when_it_is_due_and_the_service_time_left() -> None:
    text = shown(case(), now=OPENED + timedelta(minutes=5))

    assert line_of(text, "SLA target") == (
        "first response within 15m of service time, around the clock"
    )
    assert line_of(text, "SLA clock") == "due 2026-11-02 14:15:00 UTC (10m of service time left)"
    assert "clock paused" not in text and "BREACHED" not in text


def test_a_business_hours_clock_is_paused_outside_hours_and_counts_only_service_time() -> None:
    """U4: opened Friday 16:50 in New York with a 1h target: due Monday 09:50; on Saturday the
    clock is paused and 50 minutes of service time are left, not 40 hours."""
    text = shown(
        case(clock=EASTERN, opened_at=FRIDAY_LATE, target=timedelta(hours=1)), now=SATURDAY_NOON
    )

    assert line_of(text, "SLA target") == (
        "first response within 1h of service time, business hours, Mon-Fri 09:00-17:00 "
        "America/New_York without holidays (U4)"
    )
    assert line_of(text, "SLA clock") == "due 2026-11-09 14:50:00 UTC (50m of service time left)"
    assert line_of(text, "clock paused") == (
        "outside business hours: Mon, Tue, Wed, Thu, Fri 09:00-17:00 America/New_York; "
        "opens Mon 2026-11-09 09:00 EST"
    )


def test_the_same_clock_runs_inside_business_hours() -> None:
    monday_ten = datetime(2026, 11, 9, 15, 0, tzinfo=UTC)  # 10:00 in New York: 10m past due
    state = case(clock=EASTERN, opened_at=FRIDAY_LATE, target=timedelta(hours=1))
    early = shown(state, now=monday_ten - timedelta(minutes=30))

    assert line_of(early, "SLA clock") == "due 2026-11-09 14:50:00 UTC (20m of service time left)"
    assert "clock paused" not in early


def test_a_breached_case_says_when_it_was_due_and_when_it_breached() -> None:
    """S3: no time left, the breach in bold red."""
    state = case()
    state.sla.breached_at = state.sla.due_at
    text = shown(state, now=OPENED + timedelta(hours=2))

    assert line_of(text, "SLA clock") == "was due 2026-11-02 14:15:00 UTC"
    assert line_of(text, "breach") == "BREACHED at 2026-11-02 14:15:00 UTC (S3)"
    assert "left" not in line_of(text, "SLA clock")


def test_a_first_response_stops_the_clock() -> None:
    state = case()
    state.sla.responded_at = OPENED + timedelta(minutes=7)
    text = shown(state, now=OPENED + timedelta(hours=3))

    assert line_of(text, "SLA clock") == "stopped: first response at 2026-11-02 14:07:00 UTC"
    assert "BREACHED" not in text


# --- escalations (E3) ---------------------------------------------------------------------


LADDER = [
    EscalationStep(id="em-olga", name="Olga Berg"),
    EscalationStep(id="em-pavel", name="Pavel Ruiz"),
    EscalationStep(id="dir-quinn", name="Quinn Diaz"),
]


def escalation(escalation_id: str, **fields: Any) -> Escalation:
    return Escalation(
        escalation_id=escalation_id,
        channel=fields.pop("channel", "online"),
        reason=fields.pop("reason", "lack_of_progress"),
        raised_by="acme-alice",
        raised_at=OPENED + timedelta(hours=1),
        ladder=LADDER,
        acknowledge_within=timedelta(minutes=30),
        **fields,
    )


def test_the_escalations_table_says_who_has_each_escalation_and_where_it_stands() -> None:
    later = OPENED + timedelta(hours=2)
    state = case(
        escalations=[
            escalation("esc-1", acknowledged_at=later, acknowledged_by="em-olga"),
            escalation("esc-2", step=1, step_due_at=later, channel="phone"),
            escalation("esc-3", step=2, reason="business_impact"),
            escalation("esc-4", ended_at=later, ended_because="de-escalated by em-olga"),
        ]
    )
    text = text_of(escalations_table(view_of(state, "operator", later)))
    raised = "2026-11-02 15:00:00 UTC"

    assert text.startswith("escalations (E3)")
    assert table_rows(text) == {
        "esc-1": [
            "esc-1",
            "online",
            "lack of progress",
            "Olga Berg (em-olga)",
            "acknowledged by em-olga 2026-11-02 16:00:00 UTC",
            raised,
        ],
        "esc-2": [
            "esc-2",
            "phone",
            "lack of progress",
            "Pavel Ruiz (em-pavel)",
            "to acknowledge by 2026-11-02 16:00:00 UTC",
            raised,
        ],
        "esc-3": [
            "esc-3",
            "online",
            "business impact",
            "Quinn Diaz (dir-quinn)",
            "unacknowledged; end of the ladder",
            raised,
        ],
        "esc-4": [
            "esc-4",
            "online",
            "lack of progress",
            "Olga Berg (em-olga)",
            "ended 2026-11-02 16:00:00 UTC: de-escalated by em-olga",
            raised,
        ],
    }


def test_the_case_shows_its_escalations_only_when_it_has_some() -> None:
    assert "escalations (E3)" not in shown(case())
    assert "escalations (E3)" in shown(case(escalations=[escalation("esc-1")]))


# --- partner cases (P3, P4) ---------------------------------------------------------------


def test_a_partner_case_names_its_partner_and_its_escalations_to_us() -> None:
    state = case(
        account="soylent",
        contact="soylent-sam",
        contacts=("soylent-sam",),
        partner_id="northwind",
        vendor_escalations=[
            VendorEscalation(
                escalation_id="case-000050",
                reason="bug in HA",
                opened_at=OPENED,
                state="in_progress",
            ),
            VendorEscalation(
                escalation_id="case-000051",
                reason="crash",
                opened_at=OPENED,
                status="resolved",
                state="resolved",
                resolution="Use 7.4.4",
            ),
        ],
    )
    text = shown(state)
    vendor = [line for line in text.splitlines() if line.startswith("vendor escalation")]

    assert line_of(text, "partner") == "northwind (Partner Branded Support)"
    assert vendor == [
        "vendor escalation  case-000050: open, in progress",
        "vendor escalation  case-000051: resolved, resolved; resolution: Use 7.4.4",
    ]
    assert "escalated from" not in text


def test_our_side_of_a_vendor_escalation_names_the_partner_case_it_came_from() -> None:
    text = shown(case(escalated_from="case-000049"))

    assert line_of(text, "escalated from") == ("partner case case-000049; we talk to the partner")
    assert "Partner Branded Support" not in text


# --- casework list ------------------------------------------------------------------------


def list_columns(summaries: list[CaseSummary]) -> dict[str, dict[str, str]]:
    """`casework list`'s table as each case's value under each heading."""
    console = Console(record=True, width=250)
    console.print(case_list(summaries))
    text = "\n".join(line.rstrip() for line in console.export_text().splitlines())
    rows = table_rows(text)
    heading_line = next(line for line in text.splitlines() if line.startswith("┃"))
    headings = [h.strip() for h in heading_line.strip("┃").split("┃")]
    return {case_id: dict(zip(headings, cells, strict=True)) for case_id, cells in rows.items()}


def test_the_list_marks_restricted_and_security_cases_and_breaches() -> None:
    """A5, U2, S3: each mark under its own heading: "security" is a category, not a
    restriction."""
    summaries = [
        CaseSummary(case_id="case-000001", state="in_progress", breached=True, restricted=True),
        CaseSummary(case_id="case-000002", state="queued", security=True),
        CaseSummary(case_id="case-000003", state="closed", ended="closed"),
        CaseSummary(case_id="case-000004", state="in_progress", ended="terminated"),
    ]
    columns = list_columns(summaries)

    assert columns["case-000002"]["restricted"] == "-"
    assert columns["case-000001"]["breached"] == "yes"
    assert columns["case-000001"]["restricted"] == "US citizen"
    assert columns["case-000001"]["category"] == "support"
    assert columns["case-000002"]["category"] == "security"
    assert columns["case-000003"]["breached"] == "no"
    assert columns["case-000003"]["restricted"] == "-"
    assert columns["case-000003"]["state"] == "closed"
    assert columns["case-000004"]["state"] == "terminated (was in_progress)"
