"""The feed of a case (E4 Show Feed), the notifications it sends, and what the Web UI and the
search attributes say about it.

The whole feed lives in the database: the entries recorded in one workflow task are written
with the task's other side effects (`CaseContext`, "Who may write"), and the case carries only
a tail of them (at most FEED_TAIL_ENTRIES and FEED_TAIL_CHARS of text), so a chatty case never
outgrows Temporal's payload limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from casework import contracts
    from casework import search_attributes as sa
    from casework.domain.models import FeedEntry
    from casework.domain.presentation import web_ui_current_details

from workflows.case.context import CaseContext

FEED_TAIL_ENTRIES = 50
"""The newest entries a case carries (and its view shows); the rest is in the database."""
FEED_TAIL_CHARS = 60_000
"""...and at most this much of their text, so the carried state stays far below 2 MB."""
_UNSET = object()
FEED_BATCH_CHARS = 200_000
"""The most text one feed batch carries (a payload warns at 256 KB)."""


class Feed:
    def __init__(self, ctx: CaseContext, on_record: Callable[[FeedEntry], None]) -> None:
        self.ctx = ctx
        self.on_record = on_record
        self._sent = ctx.case.feed_saved  # entries before it are in a feed batch already
        self._published: dict[str, object] = {}
        """The search attributes as this run last upserted them..."""
        self._to_publish: dict[str, SearchAttributeUpdate] = {}
        """...and those to upsert at the end of this workflow task, if they changed."""
        self._row_due = False
        """This task changed what the case list's row says; `_texts_sent`: this run's first
        row (which carries the subject and description) is on its way."""
        self._texts_sent = False
        self._last_row: dict[str, Any] | None = None
        """What this run's last row said (but when, and at which revision): a row that says
        nothing new is not written again."""

    # --- the feed --------------------------------------------------------------------------

    def record(self, actor: str, kind: str, text: str = "", refused: bool = False) -> None:
        case = self.ctx.case
        entry = FeedEntry(
            seq=case.feed_total,
            at=workflow.now(),
            actor=actor,
            kind=kind,
            text=text,
            refused=refused,
        )
        case.feed.append(entry)
        case.feed_total += 1
        if not self.ctx.rolling_over:
            self.ctx.flush_at_end_of_task()
        self.on_record(entry)

    def last_kind(self) -> str | None:
        feed = self.ctx.case.feed
        return feed[-1].kind if feed else None

    def take_unsent(self) -> tuple[list[contracts.FeedBatch], int | None]:
        """The entries not yet written, as feed batches for the task's effects, and the
        position written up to once they are (`saved`). The case forgets all but the tail
        now; while it rolls over, it keeps them for the next run."""
        case = self.ctx.case
        if self.ctx.rolling_over:
            return [], None
        unsent = [e for e in case.feed if e.seq is not None and e.seq >= self._sent]
        if not unsent:
            return [], None
        self._sent = case.feed_total
        self._trim()
        return [self._batch_of(batch) for batch in _batches(unsent)], (unsent[-1].seq or 0) + 1

    def saved(self, upto: int) -> None:
        self.ctx.case.feed_saved = max(self.ctx.case.feed_saved, upto)
        self._trim()  # written: the tail may let go of them now

    def _batch_of(self, entries: list[FeedEntry]) -> contracts.FeedBatch:
        case = self.ctx.case
        return contracts.FeedBatch(
            case_id=case.case_id,
            entries=[contracts.FeedRow.model_validate(e.model_dump()) for e in entries],
            restricted=self.ctx.restricted,
            account_id=case.intake.request.account_id,
        )

    def _trim(self) -> None:
        """Keep the newest entries within both tail bounds; never one not yet written."""
        case = self.ctx.case
        keep: list[FeedEntry] = []
        chars = 0
        written = case.feed_saved
        for entry in reversed(case.feed):
            unsent = entry.seq is None or entry.seq >= written
            chars += len(entry.text)
            full = len(keep) >= FEED_TAIL_ENTRIES or (keep and chars > FEED_TAIL_CHARS)
            if full and not unsent:
                break
            keep.append(entry)
        keep.reverse()
        case.feed = keep

    # --- notifications ---------------------------------------------------------------------

    def notify(
        self, kind: str, person: str, subject: str, body: str, key: str | None = None
    ) -> None:
        """Queue a notification in the outbox, once per `key` (by default one per recipient
        and feed position). U5: it says whether it is about a restricted case, so that its
        body is shown only to those who may read it."""
        case = self.ctx.case
        if kind == "contact" and case.intake.escalated_from:
            # P4: on a vendor escalation we talk to the partner, never to its customer.
            kind, person = "partner", case.intake.request.partner_id or person
        self.ctx.side_effect(
            contracts.NOTIFY,
            contracts.Notification(
                key=key or f"{case.case_id}:{case.feed_total}:{kind}:{person}",
                case_id=case.case_id,
                recipient_kind=kind,
                recipient_id=person,
                subject=subject,
                body=body,
                at=workflow.now(),
                restricted=self.ctx.restricted,
                account_id=case.intake.request.account_id,
            ),
        )

    # --- what the outside sees -------------------------------------------------------------

    def publish(self) -> None:
        """Search attributes and the Web UI's details say where the case stands."""
        case = self.ctx.case
        workflow.set_current_details(web_ui_current_details(case))  # not a command
        self._row_due = True
        self.ctx.flush_at_end_of_task()
        if not self.ctx.options.index_search_attributes:
            return
        updates: list[SearchAttributeUpdate[Any]] = [
            sa.CASE_STATE.value_set(case.state),
            sa.CASE_PRIORITY.value_set(case.priority.value),
            sa.CASE_TIER.value_set(case.intake.entitlement.tier),
            sa.CASE_LEVEL.value_set(case.level.value),
            sa.CASE_ACCOUNT.value_set(case.intake.request.account_id),
            sa.CASE_CATEGORY.value_set(case.intake.request.category.value),
            sa.CASE_OWNER.value_set(case.owner.engineer_id if case.owner else ""),
            sa.CASE_QUEUE.value_set(case.queue),
            sa.CASE_SLA_BREACHED.value_set(case.sla.breached_at is not None),
            sa.CASE_SLA_DUE.value_set(case.sla.due_at),
            sa.CASE_RESTRICTED.value_set(self.ctx.restricted),
        ]
        self._to_publish.update({u.key.name: u for u in updates})
        self.ctx.flush_at_end_of_task()

    def take_row(self) -> list[contracts.Effect]:
        """The case list's row as the case stands at the end of this task, if the
        task changed what it says (issue 26)."""
        if not self._row_due or self.ctx.rolling_over:
            return []
        self._row_due = False
        row = self._row(texts=not self._texts_sent)
        said = row.model_dump(mode="json", exclude={"updated_at", "revision"})
        if said == self._last_row:
            return []
        self._texts_sent = True
        self._last_row = {**said, "subject": None, "description": None}
        return [
            contracts.Effect(activity=contracts.RECORD_CASE_ROW, arg=row.model_dump(mode="json"))
        ]

    def _row(self, texts: bool) -> contracts.CaseRow:
        case = self.ctx.case
        request = case.intake.request
        return contracts.CaseRow(
            case_id=case.case_id,
            revision=case.feed_total,
            account=request.account_id,
            tier=case.intake.entitlement.tier,
            category=request.category.value,
            priority=case.priority.value,
            state=case.state,
            level=case.level.value,
            owner=case.owner.engineer_id if case.owner else None,
            queue=case.queue,
            restricted=self.ctx.restricted,
            breached=case.sla.breached_at is not None,
            due_at=case.sla.due_at,
            responded_at=case.sla.responded_at,
            clock=case.intake.entitlement.clock.model_dump(mode="json"),
            opened_at=case.opened_at,
            updated_at=workflow.now(),
            subject=(request.subject or "") if texts else None,
            description=request.description if texts else None,
        )

    def upsert_published(self) -> None:
        """One upsert a workflow task, of the values that changed since this
        run's last (each upsert is a history event and a write to the server's index)."""
        changed = [
            u
            for name, u in self._to_publish.items()
            if self._published.get(name, _UNSET) != u.value
        ]
        self._to_publish = {}
        if changed:
            workflow.upsert_search_attributes(changed)
            self._published.update({u.key.name: u.value for u in changed})

    def publish_escalation(self) -> None:
        """E3: `CaseEscalated` says whether an escalation is active. Upserted only when an
        escalation starts or ends (a case never escalated does not carry it)."""
        if self.ctx.options.index_search_attributes:
            escalated = self.ctx.case.active_escalation is not None
            self._to_publish[sa.CASE_ESCALATED.name] = sa.CASE_ESCALATED.value_set(escalated)
            self.ctx.flush_at_end_of_task()

    def record_facts(self) -> None:
        """What `casework report` counts (S1-S3): the case's facts, upserted at opening, first
        response, priority change and breach."""
        case = self.ctx.case
        self.ctx.side_effect(
            contracts.RECORD_CASE_FACTS,
            contracts.CaseFacts(
                case_id=case.case_id,
                revision=case.feed_total,
                account=case.intake.request.account_id,
                tier=case.intake.entitlement.tier,
                priority=case.priority.value,
                category=case.intake.request.category.value,
                opened_at=case.opened_at,
                due_at=case.sla.due_at,
                responded_at=case.sla.responded_at,
                breached_at=case.sla.breached_at,
            ),
        )


def _batches(entries: list[FeedEntry]) -> list[list[FeedEntry]]:
    """Consecutive runs of entries with at most FEED_BATCH_CHARS of text each (at least one
    entry each: a single entry is at most 20,000 characters)."""
    batches: list[list[FeedEntry]] = [[]]
    chars = 0
    for entry in entries:
        if batches[-1] and chars + len(entry.text) > FEED_BATCH_CHARS:
            batches.append([])
            chars = 0
        batches[-1].append(entry)
        chars += len(entry.text)
    return batches
