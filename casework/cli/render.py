"""What the commands print, as pure functions: rows, models and settings in, strings and rich
renderables out. No I/O and no console (the caller prints); `render_case` holds `show`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from casework.domain.durations import format_duration
from casework.domain.endings import shown_state

if TYPE_CHECKING:
    from casework.case_list import CaseSummary
    from casework.domain.actions import ActionResult
    from casework.domain.directory import (
        Account,
        Directory,
        Engineer,
        EscalationManager,
        Partner,
        SupportDirector,
    )
    from casework.domain.models import OpenCaseResult
    from casework.domain.report import Report
    from casework.domain.sla import SlaPolicy
    from casework.versions import PromoteResult, VersionView


def when(at: datetime | None) -> str:
    if at is None:
        return "-"
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024:
            return f"{value:.1f} {unit}"
    return f"{value / 1024:.1f} TiB"


def label_grid(lines: list[tuple[str, str]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    for label, value in lines:
        grid.add_row(label, Text(value))
    return grid


# --- cases ---------------------------------------------------------------------------------


def opened(result: OpenCaseResult, request_id: str) -> str:
    """`casework open`: the case (new or already opened), or the referral (P2)."""
    if result.referred_to:  # P2: a PAR customer is referred to their partner
        again = "" if result.created else ", already referred"
        return (
            f"referred to {result.referred_to}: {result.partner_contact}; no case opened "
            f"({result.referral_id}, request id {request_id}{again})"
        )
    if result.created:
        owner = f", assigned to {result.owner}" if result.owner else ""
        return f"{result.case_id} opened (request id {request_id}{owner})"
    return f"{result.case_id} (already opened for request id {request_id})"


def acted(result: ActionResult) -> str:
    return f"{result.case_id}: {result.message} (state {result.state}, level {result.level.value})"


def case_list(cases: list[CaseSummary]) -> Table:
    """`casework list`: no content of a case, so the same for every viewer (U5). Each mark
    under its own heading: the category (A5) and the restricted queue (U2) are two facts."""
    table = Table()
    for column in ("case", "state", "priority", "tier", "level", "owner", "account", "breached"):
        table.add_column(column, no_wrap=True)
    table.add_column("SLA due", no_wrap=True)
    table.add_column("category", no_wrap=True)
    table.add_column("restricted", no_wrap=True)
    for c in cases:
        table.add_row(
            c.case_id,
            Text(shown_state(c.state, c.ended), style="bold red")
            if c.ended and c.ended != "closed"
            else c.state or "-",
            c.priority or "-",
            c.tier or "-",
            c.level or "-",
            c.owner or "-",
            c.account or "-",
            Text("yes", style="bold red") if c.breached else Text("no"),
            when(c.sla_due),
            Text("security", style="magenta") if c.security else Text("support"),
            Text("US citizen", style="yellow") if c.restricted else Text("-"),
        )
    return table


# --- the outbox ----------------------------------------------------------------------------


def outbox_table(rows: list[dict[str, Any]]) -> Table:
    """Outbox rows, already withheld where the viewer may not read them (U5)."""
    table = Table()
    for column in ("time", "case", "to", "address", "subject", "body", "delivery"):
        table.add_column(column, no_wrap=column in ("time", "case"))
    for r in rows:
        table.add_row(
            when(_instant(r["created_at"])),
            Text(r["case_id"] or "-"),
            Text(f"{r['recipient_kind']} {r['recipient_id']}"),
            Text(r["address"] or "-"),
            Text(r["subject"]),
            Text(r["body"], style="yellow" if r["withheld"] else ""),
            delivery(r),
        )
    return table


def _instant(value: datetime | str) -> datetime:
    """A row's time: the API answers it as an ISO string, the database as a datetime; a time
    without a zone is UTC."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.replace(tzinfo=at.tzinfo or UTC)


def delivery(row: dict[str, Any]) -> Text:
    """Issue 14: how the relay is doing with a notification."""
    status = row.get("status", "pending")
    attempts = row.get("attempts") or 0
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    if status == "delivered" and row.get("delivered_at"):
        at = row["delivered_at"]
        if isinstance(at, str):
            at = datetime.fromisoformat(at)
        return Text(f"delivered {when(at.replace(tzinfo=at.tzinfo or UTC))} ({tries})")
    if status == "dead":
        return Text(f"failed after {tries}", style="red")
    if status == "before_relay":
        return Text("not sent (queued before the relay)")
    return Text(f"pending ({tries})" if attempts else "pending")


def failed_table(rows: list[dict[str, Any]]) -> Table:
    """The relay's dead letters (issue 14): no bodies, the last error says why."""
    table = Table()
    for column in ("id", "queued", "case", "to", "subject", "attempts", "last error"):
        table.add_column(column, no_wrap=column in ("id", "queued", "case"))
    for r in rows:
        table.add_row(
            str(r["id"]),
            when(r["created_at"].replace(tzinfo=r["created_at"].tzinfo or UTC)),
            Text(r["case_id"] or "-"),
            Text(f"{r['recipient_kind']} {r['recipient_id']}"),
            Text(r["subject"]),
            str(r["attempts"]),
            Text(r["last_error"] or "", style="red"),
        )
    return table


def outbox_withheld_note(rows: list[dict[str, Any]]) -> str | None:
    withheld = sum(1 for r in rows if r["withheld"])
    if not withheld:
        return None
    return (
        f"{withheld} notifications withheld: US Citizen Support (U5); read them --as a "
        "restricted-queue member or a contact of the account"
    )


def referrals_table(rows: list[dict[str, Any]]) -> Table:
    """P2: PAR customers referred to their partner."""
    table = Table()
    for column in ("time", "referral", "account", "contact", "partner", "via", "request"):
        table.add_column(column, no_wrap=True)
    for r in rows:
        table.add_row(
            when(r["at"]),
            r["referral_id"],
            Text(r["account"]),
            Text(r["contact"]),
            Text(r["partner"]),
            r["channel"],
            Text(r["request_id"]),
        )
    return table


# --- the directory, accounts and the policy --------------------------------------------------


def directory_summary(directory: Directory) -> str:
    contacts = sum(len(a.contacts) for a in directory.accounts)
    return (
        f"{len(directory.accounts)} accounts, {contacts} contacts, {len(directory.products)} "
        f"products, {len(directory.engineers)} engineers, "
        f"{len(directory.escalation_managers)} Escalation Managers, "
        f"{len(directory.partners)} partners"
    )


def accounts_table(accounts: list[Account]) -> Table:
    """A1: tier and users; A3: the premium offering and its expert; A4: bought directly or
    through a partner; U1: US Citizen Support; the contacts."""
    table = Table(title="accounts", title_justify="left")
    for column in ("account", "name", "tier", "users", "premium (A3)", "via", "contacts"):
        table.add_column(column)
    for a in accounts:
        premium = f"{a.premium.offering_name}, expert {a.premium.expert}" if a.premium else "-"
        if a.us_citizen_support:
            premium = f"US Citizen Support ({a.zone})" + ("" if premium == "-" else f"; {premium}")
        via = f"partner {a.partner}" if a.partner else "direct"
        table.add_row(
            a.id,
            a.name,
            a.tier,
            str(a.users),
            premium,
            via,
            ", ".join(c.id for c in a.contacts),
        )
    return table


def partners_table(partners: list[Partner]) -> Table:
    """A4/P1: the partners that may own PAR accounts (validated) and those that may not."""
    table = Table(title="partners", title_justify="left")
    for column in ("partner", "name", "Support Now (P1)", "reached by (P2)"):
        table.add_column(column)
    for p in partners:
        table.add_row(
            p.id,
            p.name,
            "validated" if p.support_now_validated else "not validated: owns no PAR account",
            p.channels(),
        )
    if not partners:
        table.add_row("-", "no partners", "", "")
    return table


def engineers_brief(engineers: list[Engineer]) -> Table:
    people = Table(title="engineers", title_justify="left")
    for column in ("engineer", "name", "level", "skills", "works for"):
        people.add_column(column)
    for e in engineers:
        works_for = f"partner {e.partner}" if e.partner else "us"
        if e.restricted_queue_only:
            works_for += ", US citizen queue only"
        people.add_row(e.id, e.name, e.level.value, ", ".join(e.skills), works_for)
    return people


def rota_table(rota: list[EscalationManager], director: SupportDirector | None) -> Table:
    """E3/S3: the Escalation Managers in rota order, then the support director."""
    table = Table(title="escalation ladder (E3)", title_justify="left")
    for column in ("#", "person", "name", "on duty"):
        table.add_column(column)
    for i, m in enumerate(rota, start=1):
        shift = m.shift
        hours = "all day" if shift.start == shift.end else f"{shift.start:%H:%M}-{shift.end:%H:%M}"
        days = "every day" if len(set(shift.days)) == 7 else ",".join(shift.days)
        table.add_row(str(i), m.id, m.name, f"{days} {hours} {shift.zone}")
    if director is not None:
        table.add_row("last", director.id, director.name, "support director: after the rota")
    return table


def engineers_table(engineers: list[Engineer], refusals: list[str | None]) -> Table:
    """U2, U7: each engineer and whether they are a member of the restricted queue; a
    refusal is why not, None for a member."""
    table = Table(title="engineers", title_justify="left")
    for column in ("engineer", "name", "level", "skills", "location", "US citizen queue"):
        table.add_column(column, no_wrap=column in ("engineer", "level"))
    for e, refusal in zip(engineers, refusals, strict=True):
        if refusal is None:
            assert e.citizenship is not None
            proof = e.citizenship.proof.replace("_", " ")
            only = ", restricted queue only" if e.restricted_queue_only else ""
            member = Text(
                f"member: {proof}, verified by {e.citizenship.verified_by} on "
                f"{e.citizenship.verified_on}{only}",
                style="green",
            )
        else:
            member = Text(f"no: {refusal}", style="dim")
        table.add_row(
            e.id, e.name, e.level.value, ", ".join(e.skills), e.work_location or "-", member
        )
    return table


def account_lines(account: Account) -> list[tuple[str, str]]:
    """U1, U6, A3: what an account bought and who may approve sharing its logs."""
    usc = "no"
    if account.us_citizen_support:
        usc = f"yes: business hours in {account.zone} (U4), restricted queue (U2)"
    approvers = [c.id for c in account.contacts if c.approver]
    return [
        ("account", f"{account.name} ({account.id})"),
        ("tier", f"{account.tier}, {account.users} users"),
        ("US Citizen Support", usc),
        ("zone", account.zone or "-"),
        (
            "premium (A3)",
            f"{account.premium.offering_name}, expert {account.premium.expert}"
            if account.premium
            else "no",
        ),
        (
            "contacts",
            ", ".join(f"{c.id}{' (approver)' if c.approver else ''}" for c in account.contacts),
        ),
        ("log approvers (U6)", ", ".join(approvers) or "none"),
    ]


def policy_targets(policy: SlaPolicy) -> Table:
    """S1, S5: first-response targets by priority and tier."""
    table = Table()
    table.add_column("priority")
    tiers = list(policy.first_response_targets)
    for tier in tiers:
        table.add_column(tier)
    for priority in next(iter(policy.first_response_targets.values())):
        table.add_row(
            priority.value,
            *(format_duration(policy.first_response_targets[t][priority]) for t in tiers),
        )
    return table


# --- the report ----------------------------------------------------------------------------


def report_tables(report: Report) -> list[Table]:
    """S1-S3 by tier and priority, then the escalations raised in the range (E3)."""
    from casework.domain.report import wait_text

    table = Table(
        title=f"cases opened {when(report.start)} to {when(report.end)} (S1-S3)",
        title_justify="left",
    )
    for column in ("tier", "priority", "opened", "within target", "breached", "awaiting", "%"):
        table.add_column(column, no_wrap=True)
    for line in [*report.lines, report.total]:
        percent = line.within_target_percent
        table.add_row(
            line.tier if line.tier else "all",
            line.priority.value if line.priority else "all",
            str(line.opened),
            str(line.responded_within_target),
            Text(str(line.breached), style="bold red" if line.breached else ""),
            str(line.awaiting_response),
            "-" if percent is None else f"{percent:g}%",
        )
    summary = report.escalation_summary
    if not summary.raised:
        title = "no escalations raised in the range (E3)"
    elif not summary.acknowledged:
        title = f"escalations raised: {summary.raised}, none acknowledged (E3)"
    else:
        title = (
            f"escalations raised: {summary.raised}, acknowledged: {summary.acknowledged}, "
            f"median time to acknowledge: {wait_text(summary.median_seconds_to_acknowledge)} "
            "(E3)"
        )
    escalations = Table(title=title, title_justify="left")
    for column in ("escalation", "case", "tier", "priority", "channel", "raised", "acknowledged"):
        escalations.add_column(column, no_wrap=True)
    for row in report.escalations:
        ack = wait_text(row.seconds_to_acknowledge)
        if row.acknowledged_by:
            ack += f" by {row.acknowledged_by}"
        escalations.add_row(
            row.escalation_id,
            row.case_id,
            row.tier,
            row.priority,
            row.channel,
            when(row.raised_at),
            Text(ack, style="" if row.acknowledged_at else "bold red"),
        )
    return [table, escalations]


# --- versions (issue 28) -------------------------------------------------------------------


def versions_table(rows: list[VersionView], deployment: str, task_queue: str) -> Table:
    """Each version with its open cases, and whether its workers may stop."""
    table = Table(title=f"deployment {deployment} (task queue {task_queue})", title_justify="left")
    for column in ("version", "status", "routing", "open cases", "open workflows", "may shut down"):
        table.add_column(column)
    for v in rows:
        routing = "current" if v.current else ""
        if v.ramping:
            routing = f"ramping {v.ramp_percentage:g}%"
        table.add_row(
            v.name,
            v.status,
            routing or "-",
            str(v.open_cases),
            str(v.open_workflows),
            "yes" if v.may_shut_down else "no",
        )
    if not rows:
        table.add_row("-", "no worker of this deployment has polled Temporal yet", "", "", "", "")
    return table


def versions_advice(rows: list[VersionView]) -> list[str]:
    """What an operator does next about each version that is not current."""
    lines = []
    for v in rows:
        if v.current or v.ramping:
            continue
        if v.may_shut_down:
            lines.append(f"{v.name} may be shut down: no open workflow runs on it")
        elif v.build_id is None:
            lines.append(
                f"{v.open_workflows} workflows run on no version: they move to the current "
                "version at their next task and replay there (`casework versions promote` asks "
                "them); those of casework 0.1.0 replay only on the 0.2.0 bridge, so promote no "
                "later release while they are open (docs/deployment.md, Upgrades)"
            )
        else:
            lines.append(
                f"{v.name} still runs {v.open_workflows} workflows ({v.open_cases} cases): keep "
                f"a worker of {v.name} running until they have rolled over"
            )
    return lines


def promoted(result: PromoteResult) -> list[str]:
    """What `casework versions promote` did."""
    if result.current:
        made = f"{result.build_id} is the current version of {result.deployment_name}"
        if result.previous_current and result.previous_current != result.build_id:
            made += f" (was {result.previous_current})"
    else:
        made = (
            f"{result.build_id} ramps at {result.ramp_percentage:g}% of new work of "
            f"{result.deployment_name}"
        )
    lines = [made]
    if not result.propagated:
        lines.append(
            "the server had not routed every task queue to it yet: some cases may have rolled "
            "over onto the version before; promote again to ask them once more"
        )
    lines.append(
        f"asked {result.asked} open workflows ({result.cases_asked} cases) to roll over onto it "
        "at their next quiet point"
        + (f"; {result.gone} had ended or moved already" if result.gone else "")
    )
    if result.failed:
        lines.append(f"{result.failed} could not be asked (see the log): promote again")
    return lines
