"""How a workflow changes from now on (issue 28), and the home of any patch id it still needs.

Workers run under Worker Versioning: each release is a deployment version (the deployment
name and a build id, by default the package version). A case, its intake and the relay are
PINNED: a run stays on the version that started it, so a release only ever replays the
histories its own workers recorded. A case moves to a newer release only by continuing as
new onto the current version (its `roll_over`, asked by `casework versions promote`).

To change a workflow (anything under `workflows/`, or a pure module it passes through):
1. Change the code as if no case were running: no `workflow.patched`, no second path.
2. Give the release a new build id (bump the package version in pyproject.toml).
3. Keep what crosses versions readable by both sides. The histories do not cross, but the
   carried state does (`CaseWorkflowInput` with its `CaseState`: the previous release's runs
   continue as new onto this one), and so do the signals and updates one case sends another
   (P4: a partner case and its vendor escalation may run on different versions for a while).
   A new field takes a default; a field an older release still carries is neither removed
   nor renamed until no run of that release is left (`casework versions` says when).
4. Re-record the replay histories (`python scripts/record_histories.py`: all of them, one
   per scenario, no generations beside) and run tests/test_replay.py.
5. Roll it out: start the new version's workers beside the old ones, `casework versions
   promote BUILD` (with `--ramp PCT` first if you like), and stop the old workers once
   `casework versions` says they may shut down (docs/deployment.md, "Upgrades").

A patch is still the tool for one rare case: a change that must reach runs already pinned to a
version that is running, because they cannot wait to roll over (a workflow task that fails
on every attempt, so the run never reaches a quiet point to roll over at). Then: declare its
id below with the issue and why; ask `workflow.patched(ID)` when the run starts (a marker
first recorded inside an update handler does not replay); record a history beside the
others; deploy the fixed code under the SAME build id, replacing that version's workers; and
drop the patch in the next release, whose runs all start after it.
"""

from __future__ import annotations

ALL: tuple[str, ...] = ()
"""Every patch id the workflows ask (`workflow.patched`), none since release 0.3.0: release
0.2.0 (the bridge to versioning) kept every patch of 0.1.0, and its histories are replayed
only by its own workers."""
