"""U5 on what an action answers, through the door (issue 24): Customer Care recording a US
Citizen Support customer's approval by phone was answered with the name of the file `show`
withholds from her. An action's answer, and the case's refusal of one, follow U5 exactly as
`show` does: the restricted queue's members and the account's contacts read them; anyone else
is told the action was done (or refused), without what the case said."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from casework.store import Store
from tests.conftest import Desk
from tests.door_helpers import bearer, door, key_for
from tests.test_us_citizen_approval import at_l3_with_files, request_approval
from tests.us_citizen_desk import APPROVER

pytestmark = pytest.mark.timeout(240)

FILE = "ike-debug.log"  # att-1 of the case `at_l3_with_files` builds, attached by the customer


async def test_an_outsider_is_told_an_action_was_done_or_refused_not_what_the_case_said(
    env: WorkflowEnvironment, desk: Desk, store: Store, tmp_path: Path
) -> None:
    case_id = await at_l3_with_files(env, desk)
    await request_approval(desk, case_id, ["att-1"])
    keys = {p: bearer(key_for(store, p)) for p in ("cc-dana", "gsc-erin", "usc-noah")}
    keys["judy"] = bearer(key_for(store, "cyberdyne-judy"))
    act = f"/v1/cases/{case_id}/actions"
    async with door(store, desk, tmp_path) as http:
        shown = (await http.get(f"/v1/cases/{case_id}", headers=keys["cc-dana"])).json()
        assert shown["content_withheld"] is True and FILE not in str(shown)  # what show does

        not_an_approver = await http.post(
            f"{act}/approve_logs", json={"on_behalf_of": "cyberdyne-judy"}, headers=keys["cc-dana"]
        )
        assert not_an_approver.status_code == 409, not_an_approver.text
        detail = not_an_approver.json()["detail"]
        assert detail.startswith(f"approve_logs refused on {case_id}"), detail
        assert "authorised to approve" not in detail and "withheld" in detail and "U5" in detail

        recorded = await http.post(
            f"{act}/approve_logs", json={"on_behalf_of": APPROVER}, headers=keys["cc-dana"]
        )
        assert recorded.status_code == 200, recorded.text
        answer = recorded.json()
        assert FILE not in recorded.text and "att-1 (" not in recorded.text, answer
        assert answer["action"] == "approve_logs" and "withheld" in answer["message"], answer

        outsider = await http.post(f"{act}/comment", json={"text": "hi"}, headers=keys["gsc-erin"])
        assert outsider.status_code == 409 and "withheld" in outsider.json()["detail"]
        file = {"file": ("erin.log", b"x", "text/plain")}
        attached = await http.post(
            f"/v1/cases/{case_id}/attachments", files=file, headers=keys["gsc-erin"]
        )
        said = attached.json().get("message") or attached.json().get("detail")
        assert "withheld" in said and "att-" not in said, attached.text

        # the members of the restricted queue and the account's contacts read what it said
        filed = await http.post(
            f"{act}/file_problem_report", json={"summary": "IKE bug"}, headers=keys["usc-noah"]
        )
        assert filed.status_code == 200 and f"att-1 ({FILE}) shared" in filed.json()["message"]
        said_to_judy = await http.post(f"{act}/comment", json={"text": "ok"}, headers=keys["judy"])
        assert said_to_judy.status_code == 200 and "withheld" not in said_to_judy.text
        mine = await http.post(
            f"/v1/cases/{case_id}/attachments",
            files={"file": ("judy.log", b"y", "text/plain")},
            headers=keys["judy"],
        )
        assert mine.status_code == 200 and "attached as att-" in mine.json()["message"]
        view = (await http.get(f"/v1/cases/{case_id}", headers=keys["usc-noah"])).json()
    approval = view["log_approvals"][0]
    assert (approval["status"], approval["decided_by"]) == ("approved", APPROVER)


async def test_an_ordinary_case_answers_customer_care_in_full(
    desk: Desk, store: Store, tmp_path: Path
) -> None:
    case_id = await desk.open(account_id="acme", contact_id="acme-alice")
    async with door(store, desk, tmp_path) as http:
        answer = await http.post(
            f"/v1/cases/{case_id}/actions/comment",
            json={"text": "caller says 2am", "on_behalf_of": "acme-bob"},
            headers=bearer(key_for(store, "cc-dana")),
        )
        refused = await http.post(
            f"/v1/cases/{case_id}/actions/approve_logs",
            json={"on_behalf_of": "acme-bob"},
            headers=bearer(key_for(store, "cc-dana")),
        )
    assert answer.status_code == 200 and "withheld" not in answer.text, answer.text
    assert refused.status_code == 409 and "authorised to approve" in refused.json()["detail"]
