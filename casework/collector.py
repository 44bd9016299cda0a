"""The worker process's garbage collector, told once, when the first worker is built, to leave
what the process built at start alone (issue 12).

A worker's modules, the directory and the sandbox's checked imports are hundreds of thousands
of objects that live as long as the process, and every full collection walked them all: in a
simulated two days (`benchmarks/simulate.py`), 11 full collections took 1.3 s, about 120 ms
each, a pause that an SLA breach alert due at that moment waits behind. `gc.freeze` moves them
out of the collector's sight, after one full collection so that no garbage is frozen with them:
the same 11 full collections then take 0.34 s, and the collector's time falls from 1.9 s to
0.7 s.

Raising the collector's thresholds as well was tried and dropped: fewer, later collections let
garbage pile up (10,000 open cases took 592 MB instead of 466 MB) and, opening 10,000 cases 40
at a time, five case workflow tasks stalled past the SDK's 2 s deadlock detector; frozen with
the default thresholds, none did (`benchmarks/open_cases_memory.py`).
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_frozen = False


def tune_for_worker() -> None:
    """Collect once, then freeze what is built so far; once per process."""
    global _frozen
    with _lock:
        if _frozen:
            return
        _frozen = True
        gc.collect()
        gc.freeze()
