"""How a test waits: on state, never on a fixed pause. The suite's one waiting helper.

`eventually(check)` looks at something (a row of the test's database, a case's history or
view, an HTTP answer, a subprocess's output) every `every` seconds until `check()` returns
something truthy, and returns that; `eventually(read, until=holds)` until `holds(read())`, and
returns what `read()` returned. After `timeout` real seconds (default SETTLE_TIMEOUT) it
fails with NeverHappened, an AssertionError naming what was awaited and the last value or
exception seen, rather than hanging into pytest-timeout's stack dump. `eventually_sync` is its
twin for code that is not async (tests that drive `casework` subprocesses, fixtures that start
servers). `within(awaitable, what)` bounds one await the same way.

A check that raises fails the wait at once, unless the exception is one of `ignoring` (a server
still starting refuses connections): that counts as "not yet" and is reported if it is the last
thing seen. A wait for something NOT to happen is a wait for a later event that proves the
window passed (a timer that fired after it, the case settled with nothing left to do), never a
pause of the window's length.

SETTLE_TIMEOUT is sized for a loaded 2-core CI machine and scaled by CASEWORK_TEST_TIME_SCALE on
slower ones (pytest-timeout's per-test limits scale with it, and stay above it: see conftest).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

TIME_SCALE = float(os.environ.get("CASEWORK_TEST_TIME_SCALE", "1"))
"""Multiplies every real-time bound of the suite and pytest-timeout's per-test limits: 2 or
more on a machine slower than a loaded 2-core one."""
if TIME_SCALE <= 0:
    raise ValueError(f"CASEWORK_TEST_TIME_SCALE must be positive, not {TIME_SCALE}")

SETTLE_TIMEOUT = 45.0 * TIME_SCALE
"""Real seconds one wait may take (a view to get somewhere, a row to be written, the test
server's clock to move) before the test fails saying what it waited for. On 2 cores at load 4 to
8 (five full runs, each beside another) the longest of some 7,800 waits took 2.3 s; a wedged
workflow never gets there. Below the CLI tests' 60-second limit (and the default 120), so the
test fails with this message, not pytest-timeout's."""

POLL_INTERVAL = 0.05
"""Real seconds between two looks (a history, the test's database, an HTTP answer). A look that
starts a process (`casework versions`) or loads a page passes a longer `every`."""

T = TypeVar("T")
Description = str | Callable[[], str] | None
"""What a wait is for, in its failure message: words (the message adds the last value seen),
words computed when it fails (saying themselves what the check last saw, from its closure), or
None for the source of the check (of `until`, if given)."""


class NeverHappened(AssertionError):
    """What a test waited for did not happen in time."""


async def eventually(
    check: Callable[[], Any],
    timeout: float | None = None,
    *,
    every: float = POLL_INTERVAL,
    what: Description = None,
    until: Callable[[Any], Any] | None = None,
    ignoring: tuple[type[BaseException], ...] = (),
) -> Any:
    """Call `check()` (awaiting its result if it is awaitable) every `every` real seconds until
    it returns something truthy (or something `until` holds for); return that. Exceptions of
    the types in `ignoring` count as "not yet"; any other fails the wait at once. After
    `timeout` real seconds (default SETTLE_TIMEOUT) raise NeverHappened naming `what` and the
    last value or exception seen."""
    limit = SETTLE_TIMEOUT if timeout is None else timeout
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    last: Any = None
    while True:
        try:
            value = check()
            if inspect.isawaitable(value):
                value = await value
        except ignoring as e:
            value = last = e
        else:
            if until(value) if until is not None else value:
                return value
            last = value
        left = deadline - loop.time()
        if left <= 0:
            raise NeverHappened(_failure(until or check, what, limit, last))
        await asyncio.sleep(min(every, left))


def eventually_sync(
    check: Callable[[], Any],
    timeout: float | None = None,
    *,
    every: float = POLL_INTERVAL,
    what: Description = None,
    until: Callable[[Any], Any] | None = None,
    ignoring: tuple[type[BaseException], ...] = (),
) -> Any:
    """`eventually` for code that is not async: the calling thread waits between looks."""
    limit = SETTLE_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + limit
    last: Any = None
    while True:
        try:
            value = check()
        except ignoring as e:
            value = last = e
        else:
            if until(value) if until is not None else value:
                return value
            last = value
        left = deadline - time.monotonic()
        if left <= 0:
            raise NeverHappened(_failure(until or check, what, limit, last))
        time.sleep(min(every, left))


async def within(awaitable: Awaitable[T], what: str, timeout: float | None = None) -> T:
    """`awaitable`'s result, or NeverHappened naming `what` after `timeout` real seconds
    (default SETTLE_TIMEOUT) instead of pytest-timeout's stack dump."""
    limit = SETTLE_TIMEOUT if timeout is None else timeout
    try:
        return await asyncio.wait_for(awaitable, limit)
    except TimeoutError:
        raise NeverHappened(f"{what}: not done after {limit:g} s") from None


def source_of(check: Callable[..., Any]) -> str:
    """The code of a check (a lambda's line), for a failure message."""
    try:
        return " ".join(inspect.getsource(check).split())[:300]
    except (OSError, TypeError):
        return repr(check)


def _failure(check: Callable[[], Any], what: Description, limit: float, last: Any) -> str:
    if callable(what):
        said = what()
    else:
        said = what if what is not None else source_of(check)
    if isinstance(last, BaseException):
        said += f"; last raised {type(last).__name__}: {str(last):.2000}"
    elif not callable(what):
        said += f"; last saw {last!r:.2000}"
    return f"waited {limit:g} s for {said}"
