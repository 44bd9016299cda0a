"""The OpenAPI document's parts that FastAPI cannot infer: every route may answer an RFC 9457
problem (`PROBLEM_ANSWERS`, the `Problem` schema), and the JSON bodies the open, action and
promote routes read themselves, described from the same models the door validates with."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from fastapi import FastAPI

from casework.domain.actions import MODELS
from casework.domain.catalogue import CATALOGUE
from casework.domain.models import OpenCaseRequest
from casework.door.errors import PROBLEM_JSON, PROBLEMS
from casework.door.rules import FILLED_BY_THE_DOOR
from casework.versions import PromoteRequest

PROBLEM_ANSWERS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": title,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, (_, title) in PROBLEMS.items()
}
"""Every route may answer these, as RFC 9457 problems (the OpenAPI document says so)."""
PROBLEM_SCHEMA = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details; `error` repeats `detail`, `fields` "
    "names the request's fields a 422 is about.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "error": {"type": "string"},
        "fields": {"type": "array", "items": {"type": "string"}},
    },
}
ON_BEHALF_OF = {
    "on_behalf_of": {
        "type": "string",
        "description": "Customer Care only: the caller's contact id (E3, U6)",
    }
}
OPENING_DEFAULTS = {
    "request_id": {
        "type": "string",
        "description": "or the Idempotency-Key header (the caller's own, as it is)",
    },
    "channel": {"type": "string", "description": "default: what your credential says"},
    "account_id": {"type": "string", "description": "default: your account"},
    "contact_id": {"type": "string", "description": "default: yourself"},
}


def describe_problems_and_bodies(app: FastAPI) -> None:
    """`app.openapi()` with the `Problem` schema and the request bodies added, made once."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = deepcopy(PROBLEM_SCHEMA)
        _request_bodies(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _request_bodies(schema: dict[str, Any]) -> None:
    """The JSON bodies the open and action routes read themselves (they answer a malformed one
    with the CLI's sentence): each action's fields without `actor` (the credential says who
    acts), and `on_behalf_of` where Customer Care may act for a caller (the catalogue's
    `by_phone`)."""
    components = schema["components"]["schemas"]
    template = "#/components/schemas/{model}"

    def add(name: str, model: Any, drop: tuple[str, ...], extra: dict[str, Any]) -> str:
        body = model.model_json_schema(ref_template=template)
        components.update(body.pop("$defs", {}))
        for field in drop:
            body.get("properties", {}).pop(field, None)
        body["required"] = [r for r in body.get("required", []) if r not in drop]
        body.setdefault("properties", {}).update(deepcopy(extra))
        body["title"] = name
        components[name] = body
        return f"#/components/schemas/{name}"

    refs = [
        add(
            f"Action_{a.name}",
            MODELS[a.name],
            FILLED_BY_THE_DOOR,
            ON_BEHALF_OF if a.by_phone else {},
        )
        for a in sorted(CATALOGUE, key=lambda a: a.name)
        if not a.upload
    ]
    act = schema["paths"]["/v1/cases/{case}/actions/{action}"]["post"]
    act["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"oneOf": [{"$ref": r} for r in refs]}}},
        "description": "The fields of the action named in the path (Action_<name>).",
    }
    promote = schema["paths"]["/v1/versions/promote"]["post"]
    promote["requestBody"] = {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": add("PromoteRequest", PromoteRequest, (), {})}}
        },
    }
    dropped = ("request_id", "channel", "account_id", "contact_id")
    opening = add("OpenCaseBody", OpenCaseRequest, dropped, OPENING_DEFAULTS)
    schema["paths"]["/v1/cases"]["post"]["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": opening}}},
    }
