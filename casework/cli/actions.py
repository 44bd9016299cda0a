"""Actions on a case (E4), each sent to the door (`casework.door`) as the person the
credential names: `respond`, `comment`, `request-info`, `provide-info`, `escalate`, `file-pr`,
`change-priority`, `resolve`, `close`, `reopen`. The other groups' actions go through `checked`
and `send` too.

Who acts is never typed: the door acts as the credential's person. A Customer Care agent
recording what a caller asked for names the caller with `--for`; the door lets only the roles
that may act for someone else, and the case records both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from casework.cli.common import (
    BAD_INPUT,
    CaseArgument,
    ForOption,
    Output,
    case_number,
    explain,
    fail,
    out,
    print_json,
)

if TYPE_CHECKING:
    from casework.domain.actions import ActionResult

commands = typer.Typer()

ACTION_OPTIONS = {
    "text": "--text",
    "items": "--item",
    "reason": "--reason",
    "summary": "--summary",
    "priority": "--priority",
    "resolution": "--resolution",
    "name": "--name",
    "kind": "--kind",
    "sha256": "FILE",
    "size": "FILE",
    "logs": "--log",
    "note": "--note",
    "request_id": "--request",
}
"""An action's fields by the option that sets them, for refusals (`explain`)."""

PLACEHOLDER_ACTOR = "cli"
"""Stands in for `actor` while a payload is checked here: the door fills in who acts from the
credential, so the payload sent has no actor."""


def checked(action: str, **fields: Any) -> dict[str, Any]:
    """The action's payload, validated as the engine will (bad input: exit 2, nothing sent),
    without `actor`: who acts is the credential's person."""
    from pydantic import ValidationError

    from casework.domain.actions import ACTION_MODELS

    payload = {k: v for k, v in fields.items() if v is not None}
    try:
        ACTION_MODELS[action].model_validate({**payload, "actor": PLACEHOLDER_ACTOR})
    except ValidationError as e:
        fail(f"{action.replace('_', ' ')} not sent: {explain(e, ACTION_OPTIONS)}", BAD_INPUT)
    return payload


def for_whom(on_behalf_of: str | None) -> dict[str, str]:
    """`on_behalf_of` for the door, checked like any directory id (bad: exit 2)."""
    if on_behalf_of is None:
        return {}
    import re

    who = on_behalf_of.strip()
    if not re.fullmatch(r"[\w.@:-]{1,64}", who):
        fail(
            f"--for: {on_behalf_of!r} is not a directory id: name the contact, e.g. acme-alice",
            BAD_INPUT,
        )
    return {"on_behalf_of": who}


def send(
    case_id: str, action: str, payload: dict[str, Any], output: Output = Output.text
) -> ActionResult:
    """Send the action to the door and print its result (a line, or the result as JSON); a
    refusal exits 1 (bad input 2)."""
    from casework.cli import render
    from casework.cli.door_client import act as post_action
    from casework.domain.actions import ActionResult

    answer = post_action(f"/v1/cases/{case_id}/actions/{action}", json=payload)
    result = ActionResult.model_validate(answer)
    if output is Output.json:
        print_json(result)
    else:
        out().print(render.acted(result), markup=False)
    return result


def act(case: str, action: str, on_behalf_of: str | None = None, **fields: Any) -> None:
    """Validate, send the action to the door, print its result; a refusal exits 1."""
    case_id = case_number(case)
    send(case_id, action, {**checked(action, **fields), **for_whom(on_behalf_of)})


@commands.command()
def respond(case: CaseArgument, text: Annotated[str, typer.Option(help="The answer.")]) -> None:
    """The owning engineer answers the customer; the first answer stops the SLA clock (S2)."""
    act(case, "respond", text=text)


@commands.command()
def comment(
    case: CaseArgument,
    text: Annotated[str, typer.Option(help="The comment.")],
    on_behalf_of: ForOption = None,
) -> None:
    """A Case Comment by a contact of the account or the owning engineer (E4)."""
    act(case, "comment", on_behalf_of, text=text)


@commands.command("request-info")
def request_info(
    case: CaseArgument,
    item: Annotated[
        list[str],
        typer.Option(
            help="What the customer should send (repeat): hardware, software_version, logs, "
            "events_before_problem, configuration, deployment_type, device_locations."
        ),
    ],
    text: Annotated[str | None, typer.Option(help="A note to the customer.")] = None,
) -> None:
    """The owning engineer asks the customer for information; the case waits on them (E5)."""
    act(case, "request_info", items=[i.strip().lower() for i in item], text=text)


@commands.command("provide-info")
def provide_info(
    case: CaseArgument,
    text: Annotated[str, typer.Option(help="The answer.")],
    on_behalf_of: ForOption = None,
) -> None:
    """A contact answers a request for information; the case goes back to the engineer (E5)."""
    act(case, "provide_info", on_behalf_of, text=text)


@commands.command()
def escalate(case: CaseArgument, reason: Annotated[str, typer.Option(help="Why.")]) -> None:
    """The owning engineer hands the case to the next level, L0 -> L1 -> L2 -> L3 (E2)."""
    act(case, "escalate", reason=reason)


@commands.command("file-pr")
def file_pr(
    case: CaseArgument,
    summary: Annotated[str, typer.Option(help="The problem.")],
) -> None:
    """At L3, file a Problem Report to product engineering; the case stays open (E2)."""
    act(case, "file_problem_report", summary=summary)


@commands.command("change-priority")
def change_priority(
    case: CaseArgument,
    priority: Annotated[str, typer.Option(help="P1, P2 or P3.")],
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
    on_behalf_of: ForOption = None,
) -> None:
    """Change Priority: the SLA target is recomputed from the opening time at once (S4)."""
    act(case, "change_priority", on_behalf_of, priority=priority, reason=reason)


@commands.command()
def resolve(
    case: CaseArgument,
    resolution: Annotated[str, typer.Option(help="The fix.")],
) -> None:
    """The owning engineer resolves the case; the customer can close or reopen it."""
    act(case, "resolve", resolution=resolution)


@commands.command()
def close(
    case: CaseArgument,
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
    on_behalf_of: ForOption = None,
) -> None:
    """A contact closes the case, at any time (E4)."""
    act(case, "close", on_behalf_of, reason=reason)


@commands.command()
def reopen(
    case: CaseArgument,
    reason: Annotated[str, typer.Option(help="Why.")],
    on_behalf_of: ForOption = None,
) -> None:
    """A contact reopens a resolved case; it goes back to its engineer."""
    act(case, "reopen", on_behalf_of, reason=reason)
