"""Several runs at once: each in a process of its own (with its own time-skipping server), as
many at a time as `jobs`. A process runs in a process group of its own, so a run that is
stopped takes its server with it; the first run that fails stops the others and its reason is
the answer."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from casework.simulation.messages import SimCase, Timing
from casework.simulation.results import SimulationResult
from casework.simulation.run import RunSpec, SimulationFailed, simulate


def _child(spec: RunSpec, pipe: Connection) -> None:
    os.setpgrp()  # its own group: stopping it stops its test server too
    try:
        result = asyncio.run(simulate(spec))
        cases = [c.model_dump(mode="json") for c in result.cases]
        pipe.send(("ok", result.model_dump(mode="json"), (cases, result.timing.model_dump())))
    except SimulationFailed as e:
        pipe.send(("failed", str(e), None))
    except BaseException as e:  # reported, not lost with the process
        pipe.send(("failed", f"{type(e).__name__}: {e}", None))
    finally:
        pipe.close()


def _result(payload: Any, extra: tuple[list[Any], Any]) -> SimulationResult:
    result = SimulationResult.model_validate(payload)
    cases, timing = extra
    result.cases = [SimCase.model_validate(c) for c in cases]
    result.timing = Timing.model_validate(timing)
    return result


def run_all(
    specs: Sequence[RunSpec],
    jobs: int,
    done: Callable[[RunSpec], None] | None = None,
) -> list[SimulationResult]:
    """The results of `specs`, in their order; SimulationFailed (naming the run) for the first
    that fails."""
    context = multiprocessing.get_context("spawn")
    waiting = list(enumerate(specs))
    running: dict[Connection, tuple[int, Any]] = {}
    results: dict[int, SimulationResult] = {}
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        while waiting or running:
            while waiting and len(running) < max(1, jobs):
                index, spec = waiting.pop(0)
                mine, theirs = context.Pipe(duplex=False)
                process = context.Process(target=_child, args=(spec, theirs), daemon=False)
                process.start()
                theirs.close()
                running[mine] = (index, process)
            for pipe in wait(list(running)):
                assert isinstance(pipe, Connection)
                index, process = running.pop(pipe)
                try:
                    status, payload, cases = pipe.recv()
                except EOFError:
                    status, payload = "failed", f"its process ended ({process.exitcode})"
                process.join()
                spec = specs[index]
                if status != "ok":
                    raise SimulationFailed(f"{spec.label}, seed {spec.seed}: {payload}")
                results[index] = _result(payload, cases)
                if done:
                    done(spec)
    finally:
        for _, process in running.values():
            _stop(process)
        signal.signal(signal.SIGTERM, previous)
    return [results[i] for i in range(len(specs))]


def _terminated(signum: int, frame: object) -> None:
    """Stopped from outside: the runs (each in a group of its own) are stopped on the way out."""
    raise SystemExit(128 + signum)


def _stop(process: Any) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # the run and its test server
    if process.is_alive():
        process.kill()  # stopped before it had a group of its own
    process.join()
