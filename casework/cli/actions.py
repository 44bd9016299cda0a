"""Actions on a case (E4), each sent to the door (`casework.door`) as the person the
credential names. Their commands are declared from the catalogue (casework/domain/catalogue.py,
`declare`): this group's `respond`, `comment`, `request-info`, `provide-info`, `escalate`,
`file-pr`, `change-priority`, `resolve`, `close`, `reopen`; the other groups' (escalations,
files, premium) likewise, beside the few they declare by hand, which go through `checked` and
`send` too.

Who acts is never typed: the door acts as the credential's person. A Customer Care agent
recording what a caller asked for names the caller with `--for`; the door lets only the roles
that may act for someone else, and the case records both.
"""

from __future__ import annotations

from collections.abc import Callable
from inspect import Parameter, Signature
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
from casework.domain.catalogue import ACTIONS, CATALOGUE, commands_of
from casework.domain.catalogue_entry import Action, Group, Option

if TYPE_CHECKING:
    from casework.domain.actions import ActionResult

commands = typer.Typer()

ACTION_OPTIONS = {
    **{o.field: o.flag for a in CATALOGUE for o in a.command.options},
    "sha256": "FILE",
    "size": "FILE",
}
"""An action's fields by the option that sets them, for refusals (`explain`)."""

PLACEHOLDER_ACTOR = "cli"
"""Stands in for `actor` while a payload is checked here: the door fills in who acts from the
credential, so the payload sent has no actor."""


def checked(action: str, **fields: Any) -> dict[str, Any]:
    """The action's payload, validated as the engine will (bad input: exit 2, nothing sent),
    without `actor`: who acts is the credential's person."""
    from pydantic import ValidationError

    from casework.domain.actions import MODELS

    payload = {k: v for k, v in fields.items() if v is not None}
    try:
        MODELS[action].model_validate({**payload, "actor": PLACEHOLDER_ACTOR})
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


def declare(commands: typer.Typer, group: Group) -> None:
    """The commands of the catalogue's actions of `group` that are not declared by hand, in
    catalogue order: each sends its options as the action's fields (`act`)."""
    for action in commands_of(group):
        if not action.command.by_hand:
            commands.command(action.command.name, help=action.command.help)(_command(action))


def option_help(action: str, field: str) -> str:
    """The help of the option that sets `field` of `action` (for commands declared by hand)."""
    return next(o.help for o in ACTIONS[action].command.options if o.field == field)


def _command(action: Action) -> Callable[..., None]:
    """A command that takes the case and the action's options (and `--for`, if Customer Care
    may record it for a caller) and sends them."""
    options = action.command.options

    def command(case: str, **given: Any) -> None:
        fields = {o.field: _as_typed(o, given[_parameter(o)]) for o in options}
        act(case, action.name, given.get("on_behalf_of"), **fields)

    parameters = [Parameter("case", Parameter.POSITIONAL_OR_KEYWORD, annotation=CaseArgument)]
    parameters += [_option(o) for o in options]
    if action.by_phone:
        parameters.append(
            Parameter("on_behalf_of", Parameter.KEYWORD_ONLY, annotation=ForOption, default=None)
        )
    command.__signature__ = Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
    command.__name__ = action.name
    return command


def _parameter(option: Option) -> str:
    return option.flag.removeprefix("--").replace("-", "_")


def _option(option: Option) -> Parameter:
    """The typer parameter of one option: required as the model says, a list if repeated."""
    kind: Any = list[str] if option.repeat else str
    name, keyword = _parameter(option), Parameter.KEYWORD_ONLY
    given = typer.Option(option.flag, help=option.help)
    if option.required:
        return Parameter(name, keyword, annotation=Annotated[kind, given])
    return Parameter(name, keyword, annotation=Annotated[kind | None, given], default=None)


def _as_typed(option: Option, value: Any) -> Any:
    """A repeated option's items stripped (and lowercased where the option says so)."""
    if not option.repeat or value is None:
        return value
    return [i.strip().lower() if option.lower else i.strip() for i in value]


declare(commands, "actions")
