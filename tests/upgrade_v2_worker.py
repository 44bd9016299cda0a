"""`casework worker` of version 2 for the rollout test (issue 28): the shipped worker, started
as `casework worker` starts it (the same settings, placement, key ring, relay and versioning),
with one change: the `Case` workflow it registers is tests/upgrade_v2_case.py's, which cannot
replay a version 1 history.

    python -m tests.upgrade_v2_worker [casework worker options]
"""

from __future__ import annotations

import sys

import worker
from casework.cli import app
from tests.upgrade_v2_case import CaseWorkflowV2
from workflows.case import CaseWorkflow


def main() -> None:
    """`worker.WORKFLOWS` is what every casework worker registers (`worker.build_worker`)."""
    worker.WORKFLOWS = [CaseWorkflowV2 if w is CaseWorkflow else w for w in worker.WORKFLOWS]
    assert CaseWorkflowV2 in worker.WORKFLOWS, "worker.WORKFLOWS no longer lists CaseWorkflow"
    app(args=["worker", *sys.argv[1:]], prog_name="casework")


if __name__ == "__main__":
    main()
