"""US Citizen Support (U1-U7): who may work and see a restricted case, and the customer's
approval before any log reaches product engineering. Pure.

Our readings, where the seed is vague:
- U5: "escalated to engineering" means a Problem Report was filed. Even then, a viewer outside
  the restricted queue sees only what the customer approved for that PR (the PR id and the
  names of the approved logs); notes, attachments and contacts stay need-to-know. The account's
  own contacts always see their own case.
- U6: a business day is one service window (9:00-17:00, so 8 hours of business time); the
  reminder and the expiry are counted in business days from the request.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from casework.domain.models import CaseState, CaseView, FeedEntry, LogApproval

RESTRICTED_QUEUE = "us-citizen"
WITHHELD = "[withheld: US Citizen Support, visible to the restricted queue only]"


class Candidate(Protocol):
    """What the queue's rules read of an engineer (casework.domain.directory.Engineer, which
    uses these rules: so this module does not import it)."""

    @property
    def id(self) -> str: ...
    @property
    def citizenship(self) -> object | None: ...
    @property
    def work_location(self) -> str | None: ...


def restricted_member_refusal(
    engineer: Candidate, authorised_locations: Collection[str]
) -> str | None:
    """U2/U7: why `engineer` is not a member of the restricted queue, or None if they are."""
    if engineer.citizenship is None:
        return f"{engineer.id} has no verified proof of US citizenship (U2)"
    if engineer.work_location is None or engineer.work_location not in authorised_locations:
        where = engineer.work_location or "no recorded location"
        return f"{engineer.id} works from {where}, not an authorised location (U7)"
    return None


def is_restricted_member(engineer: Candidate, authorised_locations: Collection[str]) -> bool:
    return restricted_member_refusal(engineer, authorised_locations) is None


def may_see_content(case: CaseState, viewer: str) -> bool:
    """U5: the restricted queue's members and the account's own contacts see everything of a
    restricted case; everyone sees everything of any other case."""
    if not case.intake.entitlement.restricted:
        return True
    return viewer in case.restricted_members or viewer in case.intake.account_contacts


def notification_withheld(
    row_restricted: bool,
    row_account_id: str | None,
    viewer: str,
    members: Collection[str],
    contacts_of_account: Collection[str],
) -> bool:
    """U5: whether `viewer` may not read a queued notification's body. A notification about a
    US Citizen Support case (its row says so, and whose account) is shown only to the
    restricted queue's members and the contacts of that account; any other, to everyone."""
    if not row_restricted or viewer in members:
        return False
    return row_account_id is None or viewer not in contacts_of_account


def pending_approval(case: CaseState) -> LogApproval | None:
    return next((a for a in case.log_approvals if a.status == "pending"), None)


def usable_approval(case: CaseState) -> LogApproval | None:
    """U6: an approval not yet bound to a PR (an approval covers one escalation only)."""
    return next((a for a in case.log_approvals if a.status == "approved" and a.pr_id is None), None)


def withhold_feed(entries: list[FeedEntry], contacts: Collection[str]) -> list[FeedEntry]:
    """U5: feed entries as a viewer outside the restricted queue sees them: that they exist,
    when and of what kind, not what they say nor which of the customer's people said it."""
    return [
        e.model_copy(
            update={
                "actor": "[contact]" if e.actor in contacts else e.actor,
                "text": WITHHELD if e.text else "",
            }
        )
        for e in entries
    ]


def redact(view: CaseView, case: CaseState) -> CaseView:
    """U5: what a viewer outside the restricted queue is shown: that the items exist, not what
    they say; after a PR, the logs the customer approved for it."""
    contacts = set(case.intake.account_contacts)

    def hide_actor(actor: str) -> str:
        return "[contact]" if actor in contacts else actor

    shared = {
        log_id
        for a in case.log_approvals
        if a.status == "approved" and a.pr_id
        for log_id in a.logs
    }
    return view.model_copy(
        update={
            "description": WITHHELD,
            "subject": WITHHELD,
            "contact_id": WITHHELD,
            "content_withheld": True,
            "feed": withhold_feed(view.feed, contacts),
            "escalations": [  # E3: the customer's note is content too
                e.model_copy(
                    update={
                        "note": WITHHELD if e.note else "",
                        "raised_by": hide_actor(e.raised_by),
                    }
                )
                for e in view.escalations
            ],
            "attachments": [
                a.model_copy(update={"uploaded_by": hide_actor(a.uploaded_by)})
                if a.id in shared
                else a.model_copy(
                    update={
                        "name": WITHHELD,
                        "sha256": "",
                        "uploaded_by": hide_actor(a.uploaded_by),
                    }
                )
                for a in view.attachments
            ],
            "log_approvals": [
                a.model_copy(
                    update={
                        "note": WITHHELD if a.note else "",
                        "decided_by": hide_actor(a.decided_by) if a.decided_by else None,
                    }
                )
                for a in view.log_approvals
            ],
            "resolution": WITHHELD if view.resolution else None,
        }
    )


OUTBOX_WITHHELD = "[withheld]"


def withhold_outbox(
    rows: list[dict[str, Any]],
    viewer: str,
    members: Collection[str],
    contacts_of: dict[str, set[str]],
) -> None:
    """U5: mark every outbox row by the case's own word (`restricted`, recorded when it was
    sent), and blank what a withheld one says and, to a customer, who it is for."""
    for r in rows:
        restricted, account_id = r.pop("restricted"), r.pop("account_id")
        r["withheld"] = notification_withheld(
            restricted, account_id, viewer, members, contacts_of.get(account_id or "", set())
        )
        if r["withheld"]:  # U5: what it says, and who the customer's contacts are
            r["body"] = OUTBOX_WITHHELD
            if r["recipient_kind"] == "contact":
                r["recipient_id"], r["address"] = "[contact]", OUTBOX_WITHHELD
