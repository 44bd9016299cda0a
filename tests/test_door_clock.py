"""The SLA clock through the door (issue 26; S2-S4, U4): the API's `sla_remaining_seconds`, the
Case Center page and `casework show` compute the time left when they are read, from the case's
due time and the reader's clock, never the figure the case computed at its last change.

On the time-skipping server the door reads the server's clock (`clock=env.get_current_time`,
as the worker's intake does), so skipping time while nobody touches a case moves the figure;
on the dev server the door reads the wall clock; to compare the API and the CLI at one instant
the door reads a clock the test sets.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from casework.cli import app as cli_app
from casework.domain.durations import format_duration
from casework.door.presentation import duration_words
from casework.store import Store
from tests.cli_door import serving_door, write_profiles
from tests.conftest import ENGINE_RING, Desk, eventually, target_of
from tests.door_helpers import bearer, door, key_for
from tests.test_us_citizen_hours import next_ordinary_friday
from tests.us_citizen_desk import local, open_restricted, skip_to, until

pytestmark = pytest.mark.timeout(240)

GOLD_P2 = {"account_id": "globex", "contact_id": "globex-carol", "priority": "P2"}
"""Globex is Gold, around the clock: a P2's target is one hour (S1)."""


class SetClock:
    """A door clock that reads what the test set."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    async def __call__(self) -> datetime:
        return self.at


async def read(http: httpx.AsyncClient, case_id: str, key: str) -> dict[str, object]:
    answer = await http.get(f"/v1/cases/{case_id}", headers=bearer(key))
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def instant(value: object) -> datetime:
    assert isinstance(value, str), value
    return datetime.fromisoformat(value)


def due_of(view: dict[str, object]) -> datetime:
    sla = view["sla"]
    assert isinstance(sla, dict)
    return instant(sla["due_at"])


def left_of(view: dict[str, object]) -> float:
    left = view["sla_remaining_seconds"]
    assert isinstance(left, float | int), view
    return float(left)


async def signed_in(http: httpx.AsyncClient, key: str) -> None:
    """Sign in on the page, as a person does."""
    form = await http.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf, form.text[:500]
    went = await http.post("/signin", data={"credential": key, "csrf": csrf.group(1)})
    assert went.status_code == 303, went.text


async def page_clock(http: httpx.AsyncClient, case_id: str) -> tuple[str, datetime]:
    """The case page's SLA clock card, as text, and the instant it says it was read at."""
    page = await http.get(f"/cases/{case_id}")
    assert page.status_code == 200, page.text
    card = re.search(
        r'<section class="card clock[^"]*" id="sla-clock">(.*?)</section>', page.text, re.S
    )
    assert card, page.text
    read_at = re.search(r'<time id="sla-read-at" datetime="([^"]+)"', card.group(1))
    assert read_at, card.group(1)
    return re.sub(r"<[^>]+>|\s+", " ", card.group(1)), datetime.fromisoformat(read_at.group(1))


async def test_an_untouched_p2_read_at_two_times_shows_due_minus_now_on_the_api_and_the_page(
    env: WorkflowEnvironment, desk: Desk, store: Store, tmp_path: Path
) -> None:
    """The report: a P2 opened at 01:17 still said "1h left" at 01:28. Nobody touches the
    case between the reads; time passes (skipped); each read says due - now."""
    carol = key_for(store, "globex-carol")
    case_id = await desk.open(**GOLD_P2)
    await desk.until(case_id, lambda v: v.owner is not None)  # routed: its last step
    async with door(store, desk, tmp_path, clock=env.get_current_time) as http:
        await signed_in(http, carol)
        figures = []
        for skipped in (timedelta(minutes=11), timedelta(minutes=21)):
            await env.sleep(skipped)
            view = await read(http, case_id, carol)
            read_at, due = instant(view["sla_read_at"]), due_of(view)
            assert left_of(view) == (due - read_at).total_seconds()
            assert view["sla_paused_reason"] is None
            figures.append(left_of(view))

            card, page_read_at = await page_clock(http, case_id)
            assert duration_words((due - page_read_at).total_seconds()) in card, card
            assert "1h left" not in card
        assert 60 * 60 - 11 * 60 >= figures[0] > figures[1] + 20 * 60, figures


async def test_a_business_hours_case_read_outside_its_hours_keeps_its_time_left_and_is_paused(
    env: WorkflowEnvironment, desk: Desk, store: Store, tmp_path: Path
) -> None:
    """U4/S2: a Platinum P1 (15 minutes) opened Friday 16:55 Eastern. Read on Saturday and on
    Monday before nine it has the time it had at closing, paused until Monday 9:00; from
    9:00 it falls again. The restricted queue's member reads it (U5)."""
    kara = key_for(store, "usc-kara")
    friday, monday = await next_ordinary_friday(env)
    await skip_to(env, local(friday, 16, 55))
    case_id = await open_restricted(desk, priority="P1")
    opened = (await until(desk, case_id, lambda v: v.state == "in_progress")).opened_at
    at_closing = timedelta(minutes=15) - (local(friday, 17, 0) - opened)

    async with door(store, desk, tmp_path, clock=env.get_current_time) as http:
        await signed_in(http, kara)
        for outside in (local(friday + timedelta(days=1), 12, 0), local(monday, 8, 59)):
            await skip_to(env, outside)
            view = await read(http, case_id, kara)
            assert left_of(view) == at_closing.total_seconds(), (outside, view["sla_read_at"])
            paused = view["sla_paused_reason"]
            assert isinstance(paused, str) and paused.startswith("outside business hours")
            assert f"opens Mon {monday:%Y-%m-%d} 09:00" in paused
            card, _ = await page_clock(http, case_id)
            assert f"Clock paused, {duration_words(at_closing.total_seconds())}" in card, card

        await skip_to(env, local(monday, 9, 3))
        view = await read(http, case_id, kara)
        running_for = instant(view["sla_read_at"]) - local(monday, 9, 0)
        assert timedelta(seconds=left_of(view)) == at_closing - running_for
        assert view["sla_paused_reason"] is None


async def test_the_figure_falls_on_the_wall_clock_while_nobody_touches_the_case(
    dev_desk: Desk, store: Store, tmp_path: Path
) -> None:
    """On the dev server (real time) the door reads the wall clock: two reads a moment apart
    say two figures, each due - now for the instant it was read."""
    carol = key_for(store, "globex-carol")
    case_id = await dev_desk.open(**GOLD_P2)
    await dev_desk.until(case_id, lambda v: v.owner is not None)
    async with door(store, dev_desk, tmp_path) as http:

        async def bounded_read() -> float:
            before = datetime.now(UTC)
            view = await read(http, case_id, carol)
            after = datetime.now(UTC)
            due = due_of(view)
            assert (due - after).total_seconds() <= left_of(view) <= (due - before).total_seconds()
            return left_of(view)

        first = await bounded_read()
        later = await eventually(  # polls the door, a second or so
            bounded_read,
            until=lambda later: later <= first - 1,
            what=f"the figure to fall a second below {first}",
        )
        assert later < first


# --- the API and `casework show` at one instant ----------------------------------------------


@pytest_asyncio.fixture
async def cli_at(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    dev_env: WorkflowEnvironment,
    dev_desk: Desk,
    store: Store,
) -> AsyncIterator[SetClock]:
    """`casework` as a user runs it, against a door whose clock the test sets."""
    state_dir = tmp_path / "state"
    monkeypatch.setenv("CASEWORK_STATE_DIR", str(state_dir))
    monkeypatch.setenv("CASEWORK_KEYRING", ENGINE_RING.to_json())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("CASEWORK_API_KEY", "CASEWORK_PROFILE", "CASEWORK_URL"):
        monkeypatch.delenv(name, raising=False)
    clock = SetClock(datetime.now(UTC))
    async with serving_door(
        store,
        target=target_of(dev_env),
        namespace="default",
        task_queue=dev_desk.task_queue,
        state_dir=state_dir,
        case_options=dev_desk.case_options,
        clock=clock,
    ) as url:
        write_profiles(store, url, state_dir / "profiles.toml", default="globex-carol")
        yield clock


async def cli(*args: str) -> Result:
    result = await asyncio.to_thread(CliRunner().invoke, cli_app, list(args))
    assert result.exit_code == 0, result.output
    return result


async def test_the_api_and_casework_show_agree_at_the_same_instant(
    cli_at: SetClock, dev_desk: Desk
) -> None:
    """What `casework show --output json` says (the API's answer) and what `casework show`
    prints are the same figure, due - now, at each instant the door reads."""
    case_id = await dev_desk.open(**GOLD_P2)
    view = await dev_desk.until(case_id, lambda v: v.owner is not None)
    due = view.sla.due_at
    for minutes in (11, 32):
        cli_at.at = view.opened_at + timedelta(minutes=minutes, seconds=6)
        answered = json.loads((await cli("show", case_id, "--output", "json")).stdout)
        left = due - cli_at.at
        assert answered["sla_remaining_seconds"] == left.total_seconds()
        assert datetime.fromisoformat(answered["sla_read_at"]) == cli_at.at
        printed = (await cli("show", case_id)).stdout
        assert f"({format_duration(left)} of service time left)" in printed, printed
