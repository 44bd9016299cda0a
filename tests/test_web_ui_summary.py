"""What the Temporal Web UI shows of a case (issue 26): a summary every case carries, readable
without the codec and with nothing restricted in it (U5), read back as any Temporal client
reads it (describe, the UI's metadata query), on the dev server."""

from __future__ import annotations

from temporalio.api.sdk.v1 import WorkflowMetadata

from tests.conftest import Desk
from tests.us_citizen_desk import CYBERDYNE, SECRET

ORDINARY_TEXT = "Policy install fails on ADOM root\nsecond line: the install log says 0x7f"


def raw_encoding(description: object, part: str) -> bytes:
    """The encoding of the user metadata's `part` as Temporal keeps it (what the UI gets)."""
    metadata = description.raw_description.execution_config.user_metadata  # type: ignore[attr-defined]
    payload = getattr(metadata, part)
    return bytes(payload.metadata.get("encoding", b""))


async def current_details(desk: Desk, case_id: str) -> str:
    """What the Web UI's *Current Details* shows: the SDK's built-in metadata query (asked
    once the case has taken its first step, which publishes them)."""
    await desk.until(case_id, lambda view: view.state != "")
    answer = await desk.case(case_id).query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    return str(answer.current_details)


async def test_an_ordinary_case_shows_what_it_is_in_the_clear_and_its_text_encrypted(
    dev_desk: Desk,
) -> None:
    case_id = await dev_desk.open(
        account_id="globex",
        contact_id="globex-carol",
        product="FortiManager",
        version="7.2.1",
        priority="P2",
        description=ORDINARY_TEXT,
    )
    description = await dev_desk.case(case_id).describe()

    summary = await description.static_summary()
    assert summary == f"{case_id} · P2 GOLD · Globex Retail · FortiManager 7.2.1"
    # the UI shows it without the codec: Temporal keeps it as plain JSON
    assert raw_encoding(description, "summary") == b"json/plain"
    # what the customer wrote is the details' and stays encrypted (the codec decodes it)
    assert await description.static_details() == "Policy install fails on ADOM root"
    assert raw_encoding(description, "details") == b"binary/encrypted"

    shown = await current_details(dev_desk, case_id)
    assert shown.startswith("**") and "Globex Retail" in shown
    await dev_desk.act(case_id, "close", actor="globex-carol")


async def test_a_restricted_case_says_only_that_it_is_restricted(dev_desk: Desk) -> None:
    """U5: number, priority and tier; not whose it is, what it is about, nor who works it."""
    case_id = await dev_desk.open(**CYBERDYNE, description=SECRET, priority="P1")
    description = await dev_desk.case(case_id).describe()

    summary = await description.static_summary()
    assert summary == f"{case_id} · P1 PLATINUM · details restricted (US Citizen Support)"
    assert raw_encoding(description, "summary") == b"json/plain"
    assert await description.static_details() is None
    assert not description.raw_description.execution_config.user_metadata.HasField("details")

    shown = await current_details(dev_desk, case_id)
    assert "restricted" in shown and "P1 PLATINUM" in shown
    for withheld in (SECRET, "Cyberdyne", "FortiGate", "usc-", "unassigned"):
        assert withheld not in shown and withheld not in summary, withheld
