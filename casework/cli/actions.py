"""Actions on a case (E4), each sent as an update to the case's workflow: `respond`,
`comment`, `request-info`, `provide-info`, `escalate`, `file-pr`, `change-priority`,
`resolve`, `close`, `reopen`. The other groups' actions go through `checked` and `send` too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from casework.cli.common import (
    BAD_INPUT,
    ActorOption,
    CaseArgument,
    answered,
    case_number,
    connect,
    explain,
    fail,
    out,
    run,
)

if TYPE_CHECKING:
    from casework.domain.actions import ActionResult

commands = typer.Typer()

ACTION_OPTIONS = {
    "actor": "--as",
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
    "recorded_by": "--recorded-by",
    "channel": "--by-phone",
}
"""An action's fields by the option that sets them, for refusals (`explain`)."""


def checked(action: str, **fields: Any) -> dict[str, Any]:
    """The action's payload, validated as the engine will (bad input: exit 2, nothing sent)."""
    from pydantic import ValidationError

    from casework.domain.actions import ACTION_MODELS

    payload = {k: v for k, v in fields.items() if v is not None}
    try:
        ACTION_MODELS[action].model_validate(payload)
    except ValidationError as e:
        fail(f"{action.replace('_', ' ')} not sent: {explain(e, ACTION_OPTIONS)}", BAD_INPUT)
    return payload


def send(case_id: str, action: str, payload: dict[str, Any]) -> ActionResult:
    """Send the action as an update and print its result; a refusal exits 1."""
    from casework.cli import render
    from casework.client import act_on_case

    async def work() -> ActionResult:
        client = await connect()
        return await answered(act_on_case(client, case_id, action, payload), f"{action}")

    result = run(work())
    out().print(render.acted(result), markup=False)
    return result


def act(case: str, action: str, **fields: Any) -> None:
    """Validate, send the action as an update, print its result; a refusal exits 1."""
    case_id = case_number(case)
    send(case_id, action, checked(action, **fields))


@commands.command()
def respond(
    case: CaseArgument, actor: ActorOption, text: Annotated[str, typer.Option(help="The answer.")]
) -> None:
    """The owning engineer answers the customer; the first answer stops the SLA clock (S2)."""
    act(case, "respond", actor=actor, text=text)


@commands.command()
def comment(
    case: CaseArgument, actor: ActorOption, text: Annotated[str, typer.Option(help="The comment.")]
) -> None:
    """A Case Comment by a contact of the account or the owning engineer (E4)."""
    act(case, "comment", actor=actor, text=text)


@commands.command("request-info")
def request_info(
    case: CaseArgument,
    actor: ActorOption,
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
    act(case, "request_info", actor=actor, items=[i.strip().lower() for i in item], text=text)


@commands.command("provide-info")
def provide_info(
    case: CaseArgument, actor: ActorOption, text: Annotated[str, typer.Option(help="The answer.")]
) -> None:
    """A contact answers a request for information; the case goes back to the engineer (E5)."""
    act(case, "provide_info", actor=actor, text=text)


@commands.command()
def escalate(
    case: CaseArgument, actor: ActorOption, reason: Annotated[str, typer.Option(help="Why.")]
) -> None:
    """The owning engineer hands the case to the next level, L0 -> L1 -> L2 -> L3 (E2)."""
    act(case, "escalate", actor=actor, reason=reason)


@commands.command("file-pr")
def file_pr(
    case: CaseArgument,
    actor: ActorOption,
    summary: Annotated[str, typer.Option(help="The problem.")],
) -> None:
    """At L3, file a Problem Report to product engineering; the case stays open (E2)."""
    act(case, "file_problem_report", actor=actor, summary=summary)


@commands.command("change-priority")
def change_priority(
    case: CaseArgument,
    actor: ActorOption,
    priority: Annotated[str, typer.Option(help="P1, P2 or P3.")],
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """Change Priority: the SLA target is recomputed from the opening time at once (S4)."""
    act(case, "change_priority", actor=actor, priority=priority, reason=reason)


@commands.command()
def resolve(
    case: CaseArgument,
    actor: ActorOption,
    resolution: Annotated[str, typer.Option(help="The fix.")],
) -> None:
    """The owning engineer resolves the case; the customer can close or reopen it."""
    act(case, "resolve", actor=actor, resolution=resolution)


@commands.command()
def close(
    case: CaseArgument,
    actor: ActorOption,
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """A contact closes the case, at any time (E4)."""
    act(case, "close", actor=actor, reason=reason)


@commands.command()
def reopen(
    case: CaseArgument, actor: ActorOption, reason: Annotated[str, typer.Option(help="Why.")]
) -> None:
    """A contact reopens a resolved case; it goes back to its engineer."""
    act(case, "reopen", actor=actor, reason=reason)
