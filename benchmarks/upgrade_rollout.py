"""A rollout with 200 cases open (issue 28): how long the promotion and the drain take, and
what went wrong (nothing, if all is well). The same scenario as tests/test_upgrade_rollout.py
(tests/rollout_scenario.py, tests/rollout_checks.py), with its figures printed.

    python benchmarks/upgrade_rollout.py                 # SQLite, the 200 cases of the test
    python benchmarks/upgrade_rollout.py --db postgres   # a throwaway PostgreSQL (Debian package)
    python benchmarks/upgrade_rollout.py --scale 2       # 400 cases (each kind twice as many)

A dev server (in memory) of its own; version 1 is `casework worker` with CASEWORK_BUILD_ID
1.0-v1, version 2 tests/upgrade_v2_worker.py with 2.0-v2, both processes on one task queue and
one database. Printed: the cases (the vendor escalations count: they are case workflows), the
time `casework versions promote` took to answer (the routing propagated, every open case asked
to roll over), the drain (from the promotion until `casework versions` says version 1 may be
shut down), and the failures: workflow task failures, nondeterminism errors among them, and
every problem the test's checks found. The client, the server, two workers and the database
share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)  # the version 2 worker runs as `python -m tests.upgrade_v2_worker`

from temporalio.testing import WorkflowEnvironment  # noqa: E402

from casework import search_attributes  # noqa: E402
from casework.codec import data_converter  # noqa: E402
from casework.engine import load_directory  # noqa: E402
from casework.settings import DEMO_DIRECTORY  # noqa: E402
from casework.store import Store  # noqa: E402
from tests.conftest import TEST_RING  # noqa: E402
from tests.rollout_checks import upgrade  # noqa: E402
from tests.rollout_scenario import MIX, Rollout  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench_tools import binary  # noqa: E402

DRAIN_TIMEOUT = 600.0


async def main(db: str, scale: float) -> int:
    mix = {kind: max(1, round(n * scale)) for kind, n in MIX.items()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cluster = None
        if db == "postgres":
            from tests.postgres_cluster import PostgresCluster

            cluster = PostgresCluster.start()
            url = cluster.new_database()
        else:
            url = f"sqlite:///{folder / 'casework.db'}"
        store = Store(url, TEST_RING)  # the workers' ring: tests/data/test-keyring.json
        store.directory.replace(load_directory(DEMO_DIRECTORY))
        converter = data_converter(TEST_RING, store.realms.lookup)
        started = time.monotonic()
        try:
            async with await WorkflowEnvironment.start_local(
                data_converter=converter,
                dev_server_existing_path=binary("temporal"),
                search_attributes=search_attributes.ALL,
            ) as env:
                rollout = Rollout(env.client, store, url, folder, mix=mix)
                try:
                    outcome = await upgrade(rollout, converter, DRAIN_TIMEOUT)
                finally:
                    rollout.stop()
        finally:
            store.dispose()
            if cluster is not None:
                cluster.stop()
    figures, problems = outcome.findings.figures, outcome.findings.problems
    print(f"\ndatabase: {db}, {os.cpu_count()} CPUs, whole run {time.monotonic() - started:.0f} s")
    print(f"cases:                  {figures['cases']} ({mix})")
    print(f"opened on version 1 in: {figures['opened_in_s']} s")
    print(f"promote answered in:    {figures['promote_s']} s")
    print(f"drain (promote -> v1 may shut down): {figures['drain_s']} s")
    moved = figures.get("case_moved_after_promote_s")
    print(f"a case's version 2 run began after the promotion's start: {moved} s")
    print(f"runs:                   {figures['runs']}")
    print(
        f"comments during the rollout: {figures['comments_during_rollout']} "
        f"(sent again after a roll-over's refusal: {figures['comments_sent_again']}; cases "
        f"that rolled over between two of them: {figures['roll_overs_mid_chatter']})"
    )
    print(
        f"breaches:               {figures['breaches']} (after the promotion: "
        f"{figures['breaches_after_promotion']}, after v1 stopped: "
        f"{figures['breaches_after_v1_stopped']}, in a run on v2: {figures['breaches_on_v2']})"
    )
    print(f"notifications:          {figures['notifications']} queued, {figures['mails']} mailed")
    print(f"log sharing:            {figures['log_sharing']}")
    print(
        f"workflow task failures: {figures['task_failures']} "
        f"(nondeterminism: {figures['nondeterminism_errors']}; by cause: "
        f"{figures['task_failures_by_cause']})"
    )
    print(f"failures:               {len(problems)}")
    for problem in problems[:40]:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--scale", type=float, default=1.0, help="cases of each kind, times")
    args = parser.parse_args()
    if not 0 < args.scale <= 20:
        raise SystemExit("--scale must be above 0 and at most 20 (4,000 cases)")
    raise SystemExit(asyncio.run(main(args.db, args.scale)))
