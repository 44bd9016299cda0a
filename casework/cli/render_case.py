"""`casework show` as pure functions: a `CaseView` and who looks at it in, rich renderables
out. No I/O and no console: the caller prints, a test renders into a recording console.

The time is a parameter (`now`): the view is as of the case's last event, and the time left
on the SLA clock and whether it is paused are counted from the moment of looking.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from casework.cli.render import file_size, when
from casework.domain.durations import format_duration
from casework.domain.endings import ended_phrase, ended_sentence, shown_state

if TYPE_CHECKING:
    from casework.domain.models import CaseView

Lines = list[tuple[str, Text]]


def case_view(view: CaseView, viewer: str, now: datetime) -> Group:
    """The whole case: title, U5 notices, facts, attachments, approvals, escalations, feed."""
    parts: list[RenderableType] = [title(view)]
    if view.restricted:
        parts.append(
            Text("US Citizen Support — need-to-know (restricted queue only)", style="bold yellow")
        )
    if view.content_withheld:
        parts.append(Text(withheld_notice(viewer), style="yellow"))
    parts.append(grid(fact_lines(view, now)))
    if view.attachments:
        parts.append(attachments_table(view))
    if view.log_approvals:
        parts.append(log_approvals_table(view))
    if view.escalations:
        parts.append(escalations_table(view))
    parts.append(feed_table(view))
    return Group(*parts)


def title(view: CaseView) -> Text:
    """The case and where it stands; a case that ended from outside (terminated, ...) says
    so, in red, before the state it was left in."""
    text = Text(f"{view.case_id}  ", style="bold")
    if view.ended and view.ended != "closed":
        text.append(shown_state(view.last_state or view.state, view.ended), style="bold red")
    else:
        text.append(view.state, style="bold green" if view.state != "closed" else "bold")
    return text


def grid(lines: list[tuple[str, Text]]) -> Table:
    """Label and value, two columns without borders."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    for label, value in lines:
        table.add_row(label, value)
    return table


def fact_lines(view: CaseView, now: datetime) -> Lines:
    owner = f"{view.owner.engineer_name} ({view.owner.engineer_id})" if view.owner else "unassigned"
    rows: Lines = [
        ("account", Text(f"{view.account_name} ({view.account_id}), contact {view.contact_id}")),
        ("level", Text(f"{view.level.value}, owner {owner}, queue {view.queue}")),
        (
            "priority",
            Text(
                f"{view.priority.value}, tier {view.tier}, category {view.category.value}, "
                f"via {view.channel.value}"
            ),
        ),
        ("product", Text(f"{view.product} {view.version}")),
        ("opened", Text(when(view.opened_at))),
        *sla_lines(view, now),
    ]
    if view.problem_report:
        rows.append(("problem report", Text(view.problem_report)))
    rows += partner_lines(view)
    if view.waiting_for:
        rows.append(
            (
                "waiting for",
                Text(", ".join(w.replace("_", " ") for w in view.waiting_for), style="yellow"),
            )
        )
    if view.resolution:
        rows.append(("resolution", Text(view.resolution)))
    if view.closed_at:
        rows.append(("closed", Text(when(view.closed_at))))
    if view.ended and view.ended != "closed":
        rows.append(("ended", Text(ended_sentence(view.case_id, view.ended), style="bold red")))
    rows.append(("allowed now", Text(", ".join(view.allowed_actions) or "nothing")))
    if view.subject:
        rows.append(("subject", Text(view.subject)))
    rows.append(("description", Text(view.description)))
    return rows


def sla_lines(view: CaseView, now: datetime) -> Lines:
    """S1-S3, U4: the target, the clock (stopped, running with time left, paused, or past
    due) and the breach."""
    sla = view.sla
    clock = view.clock
    on = "around the clock"
    if clock.kind == "business_hours":
        on = f"business hours, Mon-Fri 09:00-17:00 {clock.zone} without holidays (U4)"
    lines = [
        (
            "SLA target",
            Text(f"first response within {format_duration(sla.target)} of service time, {on}"),
        )
    ]
    if sla.responded_at is not None:
        lines.append(("SLA clock", Text(f"stopped: first response at {when(sla.responded_at)}")))
    elif view.state == "closed":
        lines.append(("SLA clock", Text("stopped: the case is closed")))
    elif view.ended:
        lines.append(("SLA clock", Text(f"stopped: the case {ended_phrase(view.ended)}")))
    elif sla.breached_at is None:
        left, paused = clock_at(view, now)
        due = Text(f"due {when(sla.due_at)}")
        if left > timedelta(0):
            due.append(f" ({format_duration(left)} of service time left)")
        lines.append(("SLA clock", due))
        if paused:
            lines.append(("clock paused", Text(paused, style="yellow")))
    else:
        lines.append(("SLA clock", Text(f"was due {when(sla.due_at)}")))
    if sla.breached_at is not None:
        lines.append(
            ("breach", Text(f"BREACHED at {when(sla.breached_at)} (S3)", style="bold red"))
        )
    return lines


def clock_at(view: CaseView, now: datetime) -> tuple[timedelta, str | None]:
    """S2, U4: the service time left and why the clock is paused, at `now`: the door's reading
    when it read the case at `now` (`casework show` prints the case at the instant the door
    read it, so the two agree), else read here from the due instant and the case's clock."""
    if view.sla_read_at == now and view.sla_remaining_seconds is not None:
        return timedelta(seconds=view.sla_remaining_seconds), view.sla_paused_reason
    from casework.domain.sla import clock_for, read_clock  # the calendar: only when needed

    try:
        reading = read_clock(view.sla, clock_for(view.clock), now)
    except ValueError:  # a clock the case cannot describe: say what the case said
        return view.sla.due_at - now, view.sla_paused_reason
    return reading.left or timedelta(0), reading.paused


def withheld_notice(viewer: str) -> str:
    """U5: why this viewer sees that things exist, not what they say."""
    notice = (
        f"content withheld: {viewer} is neither a member of the restricted queue nor a contact "
        "of the account, so notes, attachments and contacts are shown as existing, not what "
        "they say (U5)"
    )
    if viewer == "operator":
        notice += (
            "; the default viewer, operator, sees no content of a restricted case: look with "
            "--as and a restricted-queue engineer (`casework directory engineers`) or a contact"
        )
    return notice


def partner_lines(view: CaseView) -> Lines:
    """P3/P4: whose partner case this is, and its escalations to our L3; or, on a vendor
    escalation, the partner case it came from."""
    rows: Lines = []
    if view.partner_id:
        rows.append(("partner", Text(f"{view.partner_id} (Partner Branded Support)")))
    if view.escalated_from:
        rows.append(
            ("escalated from", Text(f"partner case {view.escalated_from}; we talk to the partner"))
        )
    for e in view.vendor_escalations:
        text = f"{e.escalation_id}: {e.status}, {e.state.replace('_', ' ')}"
        if e.resolution:
            text += f"; resolution: {e.resolution}"
        rows.append(("vendor escalation", Text(text, style="yellow" if e.status == "open" else "")))
    return rows


def attachments_table(view: CaseView) -> Table:
    files = Table(title="attachments", title_justify="left")
    for column in ("id", "name", "kind", "size", "by", "at"):
        files.add_column(column, no_wrap=column != "name")
    for a in view.attachments:
        files.add_row(
            a.id, Text(a.name), a.kind, file_size(a.size), Text(a.uploaded_by), when(a.uploaded_at)
        )
    return files


def log_approvals_table(view: CaseView) -> Table:
    """U6: each request to share logs with engineering and the customer's answer."""
    approvals = Table(title="log sharing approvals (U6)", title_justify="left")
    for column in ("request", "logs", "status", "asked by", "reminder", "expires", "PR"):
        approvals.add_column(column, no_wrap=column not in ("logs", "status"))
    for r in view.log_approvals:
        status: str = r.status
        if r.decided_by:
            status += f" by {r.decided_by} at {when(r.decided_at)}"
        elif r.decided_at:
            status += f" at {when(r.decided_at)}"
        approvals.add_row(
            r.request_id,
            ", ".join(r.logs),
            Text(status, style={"approved": "green", "pending": "yellow"}.get(r.status, "red")),
            Text(r.requested_by),
            when(r.reminder_at) + (" (sent)" if r.reminded else ""),
            when(r.expires_at),
            r.pr_id or "-",
        )
    return approvals


def escalations_table(view: CaseView) -> Table:
    """E3: each escalation, who has it now and where it stands on the ladder."""
    table = Table(title="escalations (E3)", title_justify="left")
    for column in ("id", "channel", "reason", "with", "status", "raised"):
        table.add_column(column, no_wrap=column not in ("reason", "status"))
    for e in view.escalations:
        if e.ended_at:
            status, style = f"ended {when(e.ended_at)}: {e.ended_because or ''}", "dim"
        elif e.acknowledged_at:
            status, style = (
                f"acknowledged by {e.acknowledged_by} {when(e.acknowledged_at)}",
                "green",
            )
        elif e.step_due_at:
            status, style = f"to acknowledge by {when(e.step_due_at)}", "yellow"
        else:
            status, style = "unacknowledged; end of the ladder", "red"
        manager = e.ladder[e.step]
        table.add_row(
            e.escalation_id,
            e.channel,
            Text(e.reason.replace("_", " ")),
            Text(f"{manager.name} ({manager.id})"),
            Text(status, style=style),
            when(e.raised_at),
        )
    return table


def feed_table(view: CaseView) -> Table:
    """E4: what happened on the case, refused actions in red."""
    feed = Table(title="feed", title_justify="left", show_lines=False)
    for column in ("time", "actor", "event", "text"):
        feed.add_column(column, no_wrap=column != "text")
    for entry in view.feed:
        style = "red" if entry.refused else None
        kind = f"{entry.kind} (refused)" if entry.refused else entry.kind
        feed.add_row(
            Text(when(entry.at)), Text(entry.actor), Text(kind), Text(entry.text), style=style
        )
    return feed


def feed_footer(view: CaseView, page: int, size: int) -> str:
    """Where this page of the feed sits in the whole, and how to see the page before it."""
    if view.feed_total <= size and page == 1:
        return ""
    if not view.feed:
        return f"no entries on page {page}: the feed has {view.feed_total} entries"
    first, last = view.feed[0].seq or 0, view.feed[-1].seq or 0
    text = f"feed entries {first + 1}-{last + 1} of {view.feed_total}"
    if first > 0:
        more = f" --page-size {size}" if size != 50 else ""
        text += f"; older: casework show {view.case_id} --page {page + 1}{more}"
    return text
