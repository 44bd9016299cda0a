"""The catalogue of Case Center actions (casework/domain/catalogue.py) is the one list of
actions: each entry must be taken by the case (an update of its name, a handler on the part it
names, a lifecycle rule), described by its model (the form's and the CLI's fields are the
model's, required where the model requires them), and reachable from the CLI and the page.
Pure: no server."""

from __future__ import annotations

import dataclasses
import typing

import pytest
import typer
from pydantic import BaseModel
from temporalio.workflow import _Definition

from casework.cli import app
from casework.domain.actions import ACTION_MODELS, MODELS, _model_of
from casework.domain.catalogue import ACTIONS, CATALOGUE, PHONE_ACTIONS
from casework.domain.lifecycle import CaseLifecycle
from casework.door.presentation import FORMS, ROLE_ACTIONS
from workflows.case.workflow import CaseWorkflow

NAMES = [a.name for a in CATALOGUE]


def _required(model: type[BaseModel]) -> set[str]:
    return {name for name, f in model.model_fields.items() if f.is_required()}


def test_names_are_unique_and_every_model_is_an_action_model() -> None:
    assert len(NAMES) == len(set(NAMES))
    assert list(MODELS) == NAMES
    assert set(ACTION_MODELS) == {a.name for a in CATALOGUE if not a.own_update}


def test_an_entry_naming_a_model_that_does_not_exist_fails_at_import_with_what_to_do() -> None:
    typo = dataclasses.replace(ACTIONS["comment"], model="Coment")
    with pytest.raises(TypeError, match="names model 'Coment'.*define it here, or correct"):
        _model_of(typo)


def test_every_action_is_an_update_of_the_case_and_the_signal_takes_the_same_ones() -> None:
    definition = _Definition.from_class(CaseWorkflow)
    assert definition is not None
    assert set(definition.updates) == {*NAMES, "read"}
    for name in ACTION_MODELS:  # generated: validated before it enters history
        assert definition.updates[name].validator is not None, name


@pytest.mark.parametrize("action", CATALOGUE, ids=NAMES)
def test_every_action_has_a_handler_on_the_part_it_names_and_a_rule(action: typing.Any) -> None:
    parts = typing.get_type_hints(CaseWorkflow)
    assert action.part in parts, f"{action.name}: the case has no part {action.part!r}"
    assert callable(getattr(parts[action.part], action.handler, None)), action
    if not action.own_update:  # accept is ruled by its part (routing.accept_refusal)
        events = typing.cast(list[typing.Any], CaseLifecycle.events)
        assert action.name in {str(e) for e in events}, action.name


@pytest.mark.parametrize("action", CATALOGUE, ids=NAMES)
def test_the_form_and_the_cli_name_fields_of_the_model_required_as_it_says(
    action: typing.Any,
) -> None:
    model = MODELS[action.name]
    fields = set(model.model_fields)
    for f in action.form.fields:
        assert f.name in fields, f"{action.name}'s form: {f.name} is not a field of {model}"
    options = {o.field: o for o in action.command.options}
    assert set(options) <= fields
    if not action.command.by_hand:  # every field a person fills in has its option
        assert set(options) == fields - {"actor"}, action.name
        assert {f for f, o in options.items() if o.required} == _required(model) - {"actor"}


def test_a_select_offers_the_models_values_and_an_optional_one_keeps_the_value() -> None:
    priority = {f.name: f for f in FORMS["change_priority"].fields}["priority"]
    assert priority.choices == ("P1", "P2", "P3")
    raise_to = {f.name: f for f in FORMS["escalate_now"].fields}["priority"]
    assert raise_to.choices == ("", "P1", "P2", "P3")
    items = {f.name: f for f in FORMS["request_info"].fields}["items"]
    assert "software_version" in items.choices and len(items.choices) == 7


def _commands() -> dict[str, typing.Any]:
    group: typing.Any = typer.main.get_command(app)
    commands: dict[str, typing.Any] = group.commands
    return commands


@pytest.mark.parametrize("action", CATALOGUE, ids=NAMES)
def test_every_action_is_a_casework_command_with_for_where_customer_care_may_act(
    action: typing.Any,
) -> None:
    command = _commands()[action.command.name]
    flags = {opt for p in command.params for opt in p.opts}
    assert {o.flag for o in action.command.options} <= flags
    assert ("--for" in flags) == (action.name in PHONE_ACTIONS)


def test_the_page_offers_each_kind_the_forms_the_catalogue_names_in_place_order() -> None:
    assert ROLE_ACTIONS["contact"] == (
        "comment",
        "provide_info",
        "change_priority",
        "escalate_now",
        "approve_logs",
        "decline_logs",
        "close",
        "reopen",
    )
    assert ROLE_ACTIONS["partner_engineer"] == ROLE_ACTIONS["engineer"]
    assert ROLE_ACTIONS["support_director"] == ("acknowledge_escalation", "de_escalate")
    assert "attach" not in FORMS  # the page's upload form
