"""Every patch id of the case workflow, in one place, with the day it may be retired.

A patch keeps histories recorded before a change replaying on the code after it
(`workflow.patched`). It may be retired (first `workflow.deprecate_patch`, then removed) once
no case started before the change can still be running or replayed: a case lives at most a
year (a support contract's term), and the histories under `tests/histories/` recorded before
it must be re-recorded at the same time (`scripts/record_histories.py`).
"""

from __future__ import annotations

from temporalio import workflow

WAKE_AT_WINDOW_CHANGES = "wake-at-business-window-changes"
"""U4: business-hours cases started before it did not wake at window changes.
Retire from 2027-10-01."""

ESCALATE_SLA_BREACH = "sla-breach-escalation-ladder"
"""S3/E3: cases before it alerted the manager on duty once on a breach, without a ladder.
Retire from 2027-11-20."""

CASE_FACTS = "record-case-facts"
"""Cases started before it kept no facts for `casework report`. Retire from 2027-11-20."""

FEED_IN_STORE = "feed-in-store"
"""E4: cases before it carried their whole feed in the workflow state; since, the feed is
written to the database in batches and the case carries a tail. Retire from 2027-11-28."""

DEFER_DURING_ROLL_OVER = "defer-side-effects-during-roll-over"
"""Cases before it started side effects while rolling over, so a case that never stopped
receiving signals never found the quiet moment to roll over. Retire from 2027-11-28."""


VERIFIED_PRINCIPAL = "verified-principal"
"""U5/U6/E3: cases before it believed the `actor` an action's payload named; since, who acts
is the principal the door's token names (casework.identity), and a message with no token is
the namespace operator's. Retire from 2027-11-28."""

ATTACHMENT_IN_STORE = "attachment-in-store"
"""U5: cases before it attached any well-formed file reference; since, the attachment store
must hold the file (an activity asks it), or the attach is refused. Retire from 2027-11-29."""

ACT_PAYLOAD_RAW = "act-payload-raw"
"""E4: cases before it let the SDK drop an `act` signal whose payload was not JSON (a log line
only); since, the case takes the payload raw and refuses it on the feed. Retire from
2027-11-29."""
BATCHED_EFFECTS = "batched-side-effects"
"""Issue 12: cases before it started one activity per side effect (a feed batch, each
notification, facts, escalation rows) and upserted every search attribute at every change;
since, a workflow task's side effects go in one `apply_effects` activity and its search
attributes in one upsert of what changed. Retire from 2027-11-28."""

CASE_GENERATION = "case-generation-2026-11-28"
"""Issue 12: every patch above, in one marker. Core records each `patched()` of a new run as a
marker and an upsert of `TemporalChangeVersion` (two history events and a write to the
server's index apiece: 16 events a case); a case started since asks this one patch when it
starts and takes every patch above as applied. A case started before asks each as it did.
Retire with the last of the patches above."""

LOCAL_ACTIVITIES = "local-activities"
"""Issue 12: cases before it ran every activity through the server's task queue; since, the
short database reads and writes (routing, the escalation plan, the checks, the task's side
effects: `context.LOCAL`) run as local activities in the workflow task that decides them.
Retire from 2027-11-29."""

CASE_GENERATION_2 = "case-generation-2026-11-29"
"""Issue 12: every patch above, LOCAL_ACTIVITIES included, in one marker (as CASE_GENERATION).
A patch added after this one is asked on its own (or in a new generation that includes it).
Retire with the last of the patches above."""

SETTLED_EFFECTS = "settled-side-effects"
"""Issue 12: cases before it wrote a task's side effects as soon as its handlers had run, so a
case's opening wrote twice (the opening, then the assignment its routing answered) and its
close twice (the close, then the case's finish); since, a task's side effects wait until the
case has settled (`CaseContext._settle`) and go in one write. Retire from 2027-11-28."""

CASE_GENERATION_3 = "case-generation-3"
"""Issue 12: every patch above, SETTLED_EFFECTS included, in one marker (as CASE_GENERATION)."""

TEXT_WITHOUT_CONTROLS = "text-without-control-characters"
"""Issue 24: cases before it took control characters in any text (a CR LF inside a one-line
reason, an escape sequence in a comment); since, the character rule of
casework.domain.validation holds in the handlers too (the `act` signal has no validator).
Asked only when a payload breaks the rule, so a case that never gets one records no marker.
Retire from 2027-12-06."""

UNDECODABLE_REFUSED = "undecodable-signal-refused"
"""Issue 24: cases before it let the SDK drop a P4 signal whose payload did not decode, and
keep in memory, unread, a signal of a name the case does not define; since, both are refused
on the feed. Asked only when such a signal arrives (no marker on a case that never gets one).
Retire from 2027-12-06."""

KEPT_WRITES = "kept-task-writes"
"""Issue 24: cases before it wrote a task's side effects (feed, outbox, facts, escalation rows),
the customer's log-sharing answer and the routing's assignment from local activities, which
stay written when Temporal discards the task (a lost speculative update task) and let a
discarded attempt's rows stand in for the kept one's; since, local activities only read and
every write is an ordinary activity, which only a kept task can schedule (context.py, "Who may
write"). Retire from 2027-12-06."""

ONE_TIME_TOKENS = "one-time-principal-tokens"
"""Issue 24: cases before it accepted a door's token again for as long as it was valid (a token
copied out of a history could be replayed with any payload); since, a token is bound to its
message (the payload's digest) and acts once: the case remembers the tokens it took (bounded,
across continue-as-new, callers.py). Retire from 2027-12-06."""

REMEMBERED_ACTIONS = "remembered-action-keys"
"""Issue 24: cases before it left duplicate updates to the server, which forgets them when the
case continues as new; since, the case remembers its recent updates' ids and outcomes
(`CaseState.action_keys`), so a retried action (the door's Idempotency-Key) is answered with
its first outcome and never applied twice. Retire from 2027-12-06."""

CASE_GENERATION_4 = "case-generation-4"
"""Issue 24: every patch above, TEXT_WITHOUT_CONTROLS, UNDECODABLE_REFUSED, KEPT_WRITES,
ONE_TIME_TOKENS and REMEMBERED_ACTIONS included, in one marker (as CASE_GENERATION)."""

FIRST_WORD_TO_CUSTOMER = "first-response-any-word-to-customer"
"""Issue 26, S2: cases before it stopped the first-response clock at the owner's `respond`
only (a case answered with a request for information, a comment or its resolution breached);
since, the owning engineer's first act that tells the customer anything stops it
(`casework.domain.sla.FIRST_RESPONSE_ACTIONS`). Asked once, when a run starts (callers.py:
a marker recorded in an update handler does not replay). Retire from 2027-12-07."""

CASE_GENERATION_5 = "case-generation-5"
"""Issue 26: every patch above, FIRST_WORD_TO_CUSTOMER included, in one marker (as
CASE_GENERATION)."""

CASE_ROWS = "case-list-rows"
"""Issue 26: cases before it kept no row for the case list; since, a case upserts its list row
(`record_case_row`) with the task's side effects whenever what the list shows changes. Asked
when a run starts (a marker recorded inside an update handler does not replay: callers.py), so
a case running since before writes its row from its next run (its next roll-over). Retire
from 2027-12-07."""

CASE_GENERATION_6 = "case-generation-6"
"""Issue 26: every patch above, CASE_ROWS included, in one marker (as CASE_GENERATION), so that
a new case records one marker, as before CASE_ROWS."""

ROLL_OVER_SIGNAL = "roll-over-signal"
"""Issue 28: cases before it refused a signal named `roll_over` as a stray (on their feed, since
UNDECODABLE_REFUSED); since, it asks the case to roll over onto the current version (moves.py).
Asked only when such a signal arrives (no marker on a case that never gets one). The bridge
release's (0.2.0): a history holding its marker runs only on the version that recorded it
(Worker Versioning pins it), so the release after the bridge may drop it with the others."""

ALL = (
    WAKE_AT_WINDOW_CHANGES,
    ESCALATE_SLA_BREACH,
    CASE_FACTS,
    FEED_IN_STORE,
    DEFER_DURING_ROLL_OVER,
    VERIFIED_PRINCIPAL,
    ATTACHMENT_IN_STORE,
    ACT_PAYLOAD_RAW,
    BATCHED_EFFECTS,
    CASE_GENERATION,
    LOCAL_ACTIVITIES,
    CASE_GENERATION_2,
    SETTLED_EFFECTS,
    CASE_GENERATION_3,
    TEXT_WITHOUT_CONTROLS,
    UNDECODABLE_REFUSED,
    KEPT_WRITES,
    ONE_TIME_TOKENS,
    REMEMBERED_ACTIONS,
    CASE_GENERATION_4,
    FIRST_WORD_TO_CUSTOMER,
    CASE_GENERATION_5,
    CASE_ROWS,
    CASE_GENERATION_6,
    ROLL_OVER_SIGNAL,
)

GENERATIONS = (
    (CASE_GENERATION_6, frozenset(ALL[: ALL.index(CASE_GENERATION_6)])),
    (CASE_GENERATION_5, frozenset(ALL[: ALL.index(CASE_GENERATION_5)])),
    (CASE_GENERATION_4, frozenset(ALL[: ALL.index(CASE_GENERATION_4)])),
    (CASE_GENERATION_3, frozenset(ALL[: ALL.index(CASE_GENERATION_3)])),
    (CASE_GENERATION_2, frozenset(ALL[: ALL.index(CASE_GENERATION_2)])),
    (CASE_GENERATION, frozenset(ALL[: ALL.index(CASE_GENERATION)])),
)
"""Each generation's marker and the patches it stands for, the newest first."""


class Patches:
    """`patched(id)` for the parts of one run: true for a patch its generation stands for
    (without a marker of its own), else the SDK's answer. Made in the workflow's `__init__`,
    before any other patch is asked, so the generation's marker comes first. A new run asks
    the newest generation and records it; a run replaying an older history finds that one's
    marker absent and goes on to the generation it has (or none)."""

    def __init__(self) -> None:
        self.covered: frozenset[str] = frozenset()
        for marker, covers in GENERATIONS:
            if workflow.patched(marker):
                self.covered = covers
                break

    def __call__(self, patch_id: str) -> bool:
        return patch_id in self.covered or workflow.patched(patch_id)
