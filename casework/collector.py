"""The worker process's garbage collector, tuned once when the first worker is built (issue 12).

A worker holds every cached case in memory (hundreds of thousands of objects with 1,000 cases),
and CPython's defaults (a young collection every 700 allocations, a full one every 70 young
ones) made the collector run thousands of times an hour and every full collection walk all of
them, the modules included: a pause of 100 ms and more with a few hundred cases cached, which
is what an SLA breach alert due at that moment waits behind (measured: `benchmarks/
breach_and_memory.py`; the collector's time in a simulated day of `benchmarks/simulate.py`).

So: what the process has built by the time it starts working (modules, the directory, the
sandbox's checked imports) is frozen out of the collector's sight (`gc.freeze`, after one full
collection so no garbage is frozen with it), and the thresholds are raised so that young
collections run about 14 times less often and full ones as often as before relative to them.
Garbage cycles (an evicted case's coroutines) are still collected, a little later.
"""

from __future__ import annotations

import gc
import threading

THRESHOLDS = (10_000, 10, 10)
"""Allocations before a young collection; young collections before a middle one; middle ones
before a full one (CPython's default: 700, 10, 10)."""

_lock = threading.Lock()
_tuned = False


def tune_for_worker() -> None:
    """Freeze what is built so far and raise the thresholds; once per process."""
    global _tuned
    with _lock:
        if _tuned:
            return
        _tuned = True
        gc.collect()
        gc.freeze()
        gc.set_threshold(*THRESHOLDS)
