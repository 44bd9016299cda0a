"""Need-to-know (U5) from the outside: what the `view` query, the audited `read` update, the
Web UI's summary and the Escalation Manager's alert show of a restricted case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from casework.domain.directory import WEEKDAYS, Directory
from casework.domain.models import CaseView
from casework.domain.us_citizen import WITHHELD
from casework.store import Store
from tests.conftest import STORED_SHA, Desk, as_person, eventually
from tests.us_citizen_desk import (
    APPROVER,
    SECRET,
    assigned_engineers,
    open_restricted,
    skip_to_business_hours,
    until,
)

NOTE = "Tunnel to Bravo-7 drops at 02:00 UTC; see the attached IKE debug"
LOG_NAME = "bravo7-ike-debug.log"


async def worked_case(env: WorkflowEnvironment, desk: Desk) -> CaseView:
    """A restricted case with a first response, a customer comment and an attached log."""
    await skip_to_business_hours(env)
    case_id = await open_restricted(desk, channel="phone", received_by="cc-dana")
    await until(desk, case_id, lambda v: v.state == "in_progress")
    await desk.act(case_id, "respond", actor="usc-kara", text="Looking at the IPsec SAs now")
    await desk.act(case_id, "comment", actor="cyberdyne-judy", text=NOTE)
    await desk.act(
        case_id, "attach", actor="cyberdyne-judy", name=LOG_NAME, sha256=STORED_SHA, size=2048
    )
    return await until(desk, case_id, lambda v: len(v.attachments) == 1)


def assert_withheld(view: CaseView, full: CaseView) -> None:
    """U5: the items exist (same feed kinds, times, attachment ids), their content does not."""
    assert view.content_withheld
    assert view.description == WITHHELD and view.contact_id == WITHHELD
    assert [(e.kind, e.at) for e in view.feed] == [(e.kind, e.at) for e in full.feed]
    assert all(e.text in ("", WITHHELD) for e in view.feed)
    assert not any(e.actor.startswith("cyberdyne-") for e in view.feed)
    assert [a.id for a in view.attachments] == [a.id for a in full.attachments]
    assert all(a.name == WITHHELD and a.sha256 == "" for a in view.attachments)
    assert not any(a.uploaded_by.startswith("cyberdyne-") for a in view.attachments)
    dump = view.model_dump_json()
    for secret in (SECRET, NOTE, LOG_NAME, STORED_SHA, "Looking at the IPsec", "cyberdyne-judy"):
        assert secret not in dump, f"{secret!r} leaked"


async def test_an_unverified_engineer_sees_that_items_exist_but_not_what_they_say(
    env: WorkflowEnvironment, desk: Desk
) -> None:
    """U5: cc-dana (no citizenship proof) querying `view` sees the feed's entries and the
    attachment, not the description, contact, texts or file name; `content_withheld` is set."""
    full = await worked_case(env, desk)
    assert full.description == SECRET and not full.content_withheld
    dana = await desk.view(full.case_id, viewer="cc-dana")
    assert_withheld(dana, full)
    for outsider in ("gec-hugo", "operator", "mallory"):
        assert_withheld(await desk.view(full.case_id, viewer=outsider), full)


async def test_members_and_the_accounts_contacts_see_everything(
    env: WorkflowEnvironment, desk: Desk
) -> None:
    """U5: the restricted queue's members and the account's own contacts see the whole case,
    through the query and through the audited read; no refusal is recorded for them."""
    full = await worked_case(env, desk)
    for viewer in ("usc-kara", "usc-noah", "cyberdyne-judy", APPROVER):
        seen = await desk.view(full.case_id, viewer=viewer)
        with as_person(viewer):
            read = await desk.case(full.case_id).execute_update(
                "read", {"viewer": viewer}, result_type=CaseView
            )
        for view in (seen, read):
            assert not view.content_withheld
            assert view.description == SECRET
            assert view.contact_id == "cyberdyne-judy"
            assert view.attachments[0].name == LOG_NAME
            assert any(e.text == NOTE for e in view.feed)
    after = await until(desk, full.case_id, lambda v: True)
    assert "read_refused" not in [e.kind for e in after.feed]


async def test_the_audited_read_by_an_outsider_is_withheld_and_recorded(
    env: WorkflowEnvironment, desk: Desk
) -> None:
    """U5: cc-dana calling the `read` update gets the same withheld view as the query, and
    the refused read is on the case's feed with the reason, for everyone to see."""
    full = await worked_case(env, desk)
    with as_person("cc-dana"):
        read = await desk.case(full.case_id).execute_update(
            "read", {"viewer": "cc-dana"}, result_type=CaseView
        )
    assert read.content_withheld and read.description == WITHHELD
    assert all(a.name == WITHHELD for a in read.attachments)
    assert SECRET not in read.model_dump_json() and NOTE not in read.model_dump_json()

    after = await until(desk, full.case_id, lambda v: v.feed[-1].kind == "read_refused")
    refusal = after.feed[-1]
    assert (refusal.actor, refusal.refused) == ("cc-dana", True)
    assert refusal.text == (
        "content withheld: cc-dana has no verified proof of US citizenship (U2)"
    )
    assert_withheld(await desk.view(full.case_id, viewer="cc-dana"), after)


async def test_a_read_without_a_viewer_is_refused(env: WorkflowEnvironment, desk: Desk) -> None:
    full = await worked_case(env, desk)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        with as_person("cc-dana"):
            await desk.case(full.case_id).execute_update("read", "cc-dana", result_type=CaseView)
    assert 'the payload must be a JSON object like {"viewer": ...}' in str(refused.value.cause)


async def test_the_web_ui_summary_and_the_breach_alert_carry_no_description(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """U5/S3: the Web UI's summary of the case (seen by anyone with access to the namespace)
    and the Escalation Manager's breach alert never carry a restricted case's description.
    An acme case's details (the description's first line, beside its summary) do, so the check
    can fail."""
    await skip_to_business_hours(env)
    case_id = await open_restricted(desk, priority="P1")
    view = await until(desk, case_id, lambda v: v.state == "in_progress")
    described = await desk.case(case_id).describe()
    summary = await described.static_summary()
    assert summary is not None
    assert "details restricted (US Citizen Support)" in summary
    assert SECRET not in summary and await described.static_details() is None

    acme_id = await desk.open(description="HA cluster fails over every few minutes")
    acme_details = await (await desk.case(acme_id).describe()).static_details()
    assert acme_details is not None and "HA cluster fails over" in acme_details

    await env.sleep(view.sla.due_at - await env.get_current_time() + timedelta(seconds=1))
    await until(desk, case_id, lambda v: v.sla.breached_at is not None)
    alerts = await eventually(
        lambda: [
            n for n in store.outbox.rows(case_id) if n["recipient_kind"] == "escalation_manager"
        ]
    )
    assert len(alerts) == 1
    assert SECRET not in alerts[0]["body"] and SECRET not in alerts[0]["subject"]
    assert "details restricted (US Citizen Support)" in alerts[0]["body"]
    to_engineers = [n for n in store.outbox.rows(case_id) if n["recipient_kind"] == "engineer"]
    assert to_engineers and all(SECRET not in n["body"] for n in to_engineers)


async def test_an_unverified_engineer_is_never_assigned_even_when_the_only_one_on_shift(
    env: WorkflowEnvironment, desk: Desk, store: Store, directory: Directory
) -> None:
    """U2/U5: with the L0 member off duty (her shift is on another day), cc-dana, who has
    the skills and is on shift, is not given the case; it waits in the queue for a member."""
    now = await skip_to_business_hours(env)
    another_day = WEEKDAYS[(now.weekday() + 3) % 7]
    engineers = [
        e.model_copy(update={"shift": e.shift.model_copy(update={"days": [another_day]})})
        if e.id == "usc-kara"
        else e
        for e in directory.engineers
    ]
    store.directory.replace(directory.model_copy(update={"engineers": engineers}))
    case_id = await open_restricted(desk)
    await until(desk, case_id, lambda v: any(e.kind == "waiting_in_queue" for e in v.feed))
    # four routing retries, and short of the first-response due (30 minutes): a breach timer
    # firing while the desk tidies up would be terminated mid-task and hold the test clock
    await env.sleep(timedelta(minutes=20))
    view = await until(desk, case_id, lambda v: v.state == "queued")
    assert view.owner is None
    assert assigned_engineers(store, case_id) == []
    assert (await desk.view(case_id, viewer="cc-dana")).content_withheld
