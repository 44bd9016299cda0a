"""E1 as a case opens: its intake routes it with the case's new number, so the answer to an
open names the engineer who has the case, and the case starts assigned without asking again
(issue 12: one local activity and one workflow activation less an opening). U4 and A3 keep
their own first steps: a case opened outside its service's hours, or offered first to the
account's premium expert (tests/test_premium_coverage.py), is routed by the case itself."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from casework.store import Store
from tests.conftest import Desk
from tests.us_citizen_desk import (
    CYBERDYNE,
    assigned_engineers,
    kinds,
    open_restricted,
    skip_to,
    skip_to_business_hours,
    until,
)


async def test_the_answer_to_an_open_names_the_engineer_the_case_went_to(
    desk: Desk, store: Store
) -> None:
    """E1: a Gold case (24x7) opened with an engineer on shift is assigned as it opens: the
    open's answer names the owner, the case shows them, and the assignment is recorded once."""
    opened = await desk.open_request(desk.request())
    assert opened.case_id and opened.created and opened.owner, opened
    view = await desk.until(opened.case_id, lambda v: v.owner is not None)
    assert view.owner is not None and view.owner.engineer_id == opened.owner
    assert view.state == "in_progress"
    assert kinds(view).count("assigned") == 1
    assert assigned_engineers(store, opened.case_id) == [opened.owner]


async def test_sending_the_same_open_again_routes_nothing_more(desk: Desk, store: Store) -> None:
    """E1 with a retried open (an integration that did not hear the answer): the same case,
    not created again, and still the one assignment."""
    request = desk.request()
    first = await desk.open_request(request)
    again = await desk.open_request(request)
    assert again.case_id == first.case_id and not again.created
    await desk.until(first.case_id, lambda v: v.owner is not None)
    assert assigned_engineers(store, first.case_id) == [first.owner]


async def test_a_restricted_case_opened_out_of_hours_is_left_to_wait_for_them(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """U4 before E1: a US Citizen Support case opened on a business day at 20:00 Eastern is
    not routed by its intake; the open names nobody, the case waits for the window, and
    nobody is assigned until it opens."""
    ten = await skip_to_business_hours(env)
    await skip_to(env, ten + timedelta(hours=10))
    opened = await desk.open_request(desk.request(**CYBERDYNE, description="after hours"))
    assert opened.case_id and opened.owner is None, opened
    view = await until(desk, opened.case_id, lambda v: "waiting_for_business_hours" in kinds(v))
    assert view.owner is None and view.state == "queued"
    assert assigned_engineers(store, opened.case_id) == []
    await skip_to_business_hours(env)  # the next business day, 10:00: the window is open
    view = await until(desk, opened.case_id, lambda v: v.owner is not None)
    assert view.owner is not None
    assert assigned_engineers(store, opened.case_id) == [view.owner.engineer_id]


async def test_a_restricted_case_opened_in_hours_goes_to_a_member(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """U2 at the opening: the intake routes a restricted case within the US citizen queue."""
    await skip_to_business_hours(env)
    case_id = await open_restricted(desk)
    view = await until(desk, case_id, lambda v: v.owner is not None)
    assert view.owner is not None and view.owner.engineer_id == "usc-kara"
    assert assigned_engineers(store, case_id) == ["usc-kara"]
