"""The case workflow, in parts: `workflow.py` wires them and tells the story of a case.

workflow.py     CaseWorkflow ("Case"): run(), the handlers, one path for every action
context.py      what the parts share: state, lifecycle, lock, side effects
feed.py         the feed (in the database, a tail in the case), notifications, search
                attributes, report facts (E4, U5)
clock.py        the first-response clock: respond, change priority, breach (S2-S4)
routing.py      routing, business hours, the premium expert's offer (E1, U2-U4, A3)
actions.py      comments, information, escalation up the ladder, PR, resolve, close
                (E2, E4, E5)
approvals.py    files and the customer's approval before logs reach engineering (U5, U6)
escalations.py  Escalate Now and the Escalation Manager ladder (E3, S3)
vendor.py       a partner case's escalation to our L3 (P3, P4)
patches.py      how a workflow changes (a new version, rarely a patch); its patch ids (none)
"""

from workflows.case.workflow import CaseWorkflow

__all__ = ["CaseWorkflow"]
