"""Typed search attributes of a case, so the Web UI and `temporal workflow list --query`
filter cases: `CaseState = "in_progress" AND CaseTier = "PLATINUM" AND CaseSlaBreached = true`.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

from casework import search_attribute_names as names

CASE_STATE = SearchAttributeKey.for_keyword(names.CASE_STATE)
CASE_PRIORITY = SearchAttributeKey.for_keyword(names.CASE_PRIORITY)
CASE_TIER = SearchAttributeKey.for_keyword(names.CASE_TIER)
CASE_LEVEL = SearchAttributeKey.for_keyword(names.CASE_LEVEL)
CASE_ACCOUNT = SearchAttributeKey.for_keyword(names.CASE_ACCOUNT)
CASE_CATEGORY = SearchAttributeKey.for_keyword(names.CASE_CATEGORY)
CASE_OWNER = SearchAttributeKey.for_keyword(names.CASE_OWNER)
CASE_QUEUE = SearchAttributeKey.for_keyword(names.CASE_QUEUE)
CASE_SLA_BREACHED = SearchAttributeKey.for_bool(names.CASE_SLA_BREACHED)
CASE_SLA_DUE = SearchAttributeKey.for_datetime(names.CASE_SLA_DUE)
CASE_RESTRICTED = SearchAttributeKey.for_bool(names.CASE_RESTRICTED)
CASE_ESCALATED = SearchAttributeKey.for_bool(names.CASE_ESCALATED)
"""E3: the case has an active customer or SLA-breach escalation."""

ALL: list[SearchAttributeKey[Any]] = [
    CASE_STATE,
    CASE_PRIORITY,
    CASE_TIER,
    CASE_LEVEL,
    CASE_ACCOUNT,
    CASE_CATEGORY,
    CASE_OWNER,
    CASE_QUEUE,
    CASE_SLA_BREACHED,
    CASE_SLA_DUE,
    CASE_RESTRICTED,
    CASE_ESCALATED,
]


def dev_server_flags() -> list[str]:
    """`--search-attribute Name=Type` flags for `temporal server start-dev`."""
    kinds = {"KEYWORD": "Keyword", "BOOL": "Bool", "DATETIME": "Datetime"}
    return [
        flag
        for key in ALL
        for flag in ("--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}")
    ]
