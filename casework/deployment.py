"""A worker's own deployment version (issue 28): which one it registers, and what it does about
it as it starts.

`worker_version` is what `casework up`, `casework worker` and `python worker.py` register
(CASEWORK_DEPLOYMENT_NAME, CASEWORK_BUILD_ID, unless CASEWORK_WORKER_VERSIONING=off). As it
starts, a worker of `casework worker` takes a first deploy (`first_deploy`: no operator step
when the deployment has no current version yet), and `casework up`, the one worker on a
laptop, takes over (`take_over`: its version becomes current, whatever was before).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError

from casework.versions import (
    WORKERS_TIMEOUT,
    VersionsRefused,
    promote,
    retry_while_unseen,
    roll_over_all,
    set_version,
    until_propagated,
    until_seen,
    version_value,
)

if TYPE_CHECKING:
    from temporalio.client import Client

    from casework.settings import Settings

log = logging.getLogger(__name__)


def worker_version(settings: Settings) -> WorkerDeploymentVersion | None:
    """The deployment version a worker of `settings` registers; None with versioning off."""
    if not settings.worker_versioning:
        return None
    return WorkerDeploymentVersion(settings.deployment_name, settings.build_id)


def running_as(settings: Settings) -> str:
    """The version a worker of `settings` runs as, for logs and banners."""
    version = worker_version(settings)
    if version is None:
        return "unversioned (CASEWORK_WORKER_VERSIONING=off)"
    return version_value(version.deployment_name, version.build_id)


async def first_deploy(client: Client, settings: Settings) -> str:
    """A versioned worker that starts where its deployment has no current version makes its
    own version current (else new cases would wait for an unversioned worker that does not
    exist), and asks the open workflows of the task queue on no version to roll over onto it.
    Where a version is current already, changes nothing: an operator promotes. What it did,
    in a sentence for the log."""
    build_id = settings.build_id
    name = settings.deployment_name
    try:
        described = await until_seen(client, settings, build_id, WORKERS_TIMEOUT)
    except VersionsRefused as e:
        return f"the server has not seen this worker's version yet: {e}"
    current = described.worker_deployment_info.routing_config.current_deployment_version
    if current.build_id == build_id:
        return f"version {build_id} of deployment {name} is current"
    if current.build_id:
        return (
            f"version {current.build_id} of deployment {name} is current: this worker's "
            f"version {build_id} takes new cases once promoted (`casework versions promote "
            f"{build_id}`)"
        )
    try:
        await retry_while_unseen(
            lambda: set_version(client, name, build_id, None),
            WORKERS_TIMEOUT,
            f"promoting {build_id}",
        )
    except VersionsRefused as e:
        return str(e)
    await until_propagated(client, name)
    asked = await roll_over_all(client, settings, version_value(name, build_id))
    return (
        f"deployment {name} had no current version: made this worker's version {build_id} "
        f"current; {asked['asked']} workflows on no version asked to roll over onto it"
    )


async def take_over(client: Client, settings: Settings) -> list[str]:
    """`casework up` (one worker on a laptop): its version becomes current as it starts, and
    the cases of other versions are asked to roll over onto it. The banner's lines: which
    version runs, and the versions whose cases still need a worker of theirs."""
    if not settings.worker_versioning:
        return [f"  Version:    {running_as(settings)}"]
    here = running_as(settings)
    try:
        done = await promote(client, settings, settings.build_id, wait_for_workers=WORKERS_TIMEOUT)
    except (VersionsRefused, RPCError) as e:
        log.warning("version %s was not made current: %s", here, e)
        return [f"  Version:    {here} (not made current: {e})"]
    lines = [f"  Version:    {here}, current"]
    for row in done.versions:
        if row.current or not row.open_workflows:
            continue
        if row.build_id is None:
            lines.append(
                f"  Note:       {row.open_cases} open cases run on no version: they replay on "
                "this version at their next task, then roll over; those of casework 0.1.0 "
                "replay only on the 0.2.0 bridge (docs/deployment.md, Upgrades)"
            )
            continue
        lines.append(
            f"  Note:       {row.open_cases} open cases run on version {row.build_id}: run a "
            f"worker of {row.build_id} beside this one until `casework versions` says "
            f"{row.build_id} may be shut down"
        )
    for line in lines[1:]:
        log.warning("%s", line.strip().removeprefix("Note:").strip())
    return lines
