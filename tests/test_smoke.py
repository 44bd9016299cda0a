from tests.conftest import Desk


async def test_a_case_opens_and_is_routed(desk: Desk) -> None:
    case_id = await desk.open()
    view = await desk.until(case_id, lambda v: v.state == "in_progress")
    assert view.owner is not None and view.owner.engineer_id == "cc-dana"


async def test_a_case_opens_on_the_dev_server(dev_desk: Desk) -> None:
    case_id = await dev_desk.open()
    view = await dev_desk.until(case_id, lambda v: v.state == "in_progress")
    assert view.owner is not None
