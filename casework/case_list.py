"""Listing cases without the Temporal SDK: the visibility query for `casework list`'s filters
and one row of the list. Pure; `casework.client.list_cases` runs the query (the door does, for
the CLI), so `casework list` answers without loading Temporal."""

from __future__ import annotations

import re
from datetime import datetime

from casework import search_attribute_names as names
from casework.domain.endings import ENDINGS, VISIBILITY_STATUS
from casework.domain.models import Category, Lenient, Priority
from casework.domain.vocabulary import tier_name_refusal
from casework.errors import CaseworkError

CASE_WORKFLOW = "Case"
OPEN_STATES = ("queued", "in_progress", "waiting_on_customer", "resolved", "waiting_on_vendor")
"""The states of a case that is not closed (the lifecycle's, casework.domain.lifecycle)."""
CASE_STATES = (*OPEN_STATES, *ENDINGS)
"""What `--state` takes: a state of a running case, or how it ended (casework.domain.endings)."""
LATEST_RUNS = "ExecutionStatus != 'ContinuedAsNew'"
"""A case that continued as new keeps a closed row per earlier run in the visibility store;
this clause leaves each case's latest run only, so a case is listed once, as it is now."""
_QUERY_SAFE = re.compile(r"^[\w.@:-]{1,64}$")


class CaseSummary(Lenient):
    """One row of `casework list`: what the case's search attributes say."""

    case_id: str
    state: str | None = None
    priority: str | None = None
    tier: str | None = None
    level: str | None = None
    owner: str | None = None
    account: str | None = None
    queue: str | None = None
    breached: bool | None = None
    sla_due: datetime | None = None
    restricted: bool | None = None
    started_at: datetime | None = None
    security: bool = False
    ended: str | None = None
    """How the case's workflow ended (casework.domain.endings), None while it runs: a
    terminated case's `state` is the one it was left in."""


def _one_of(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    for candidate in allowed:
        if value.strip().casefold() == candidate.casefold():
            return candidate
    raise CaseworkError(f"unknown {name} {value!r}; use one of: {', '.join(allowed)}")


def _tier(value: str | None) -> str | None:
    """Any tier's name (in capitals): the cases of a tier the policy no longer sells are still
    listed."""
    if value is None:
        return None
    name = value.strip().upper()
    refusal = tier_name_refusal(name)
    if refusal:
        raise CaseworkError(f"unknown tier {value!r}: {refusal}")
    return name


def case_list_query(
    *,
    state: str | None = None,
    priority: str | None = None,
    tier: str | None = None,
    breached: bool | None = None,
    account: str | None = None,
    restricted: bool | None = None,
    security: bool = False,
    queue: str | None = None,
) -> str:
    """The visibility query for Case workflows matching the filters (the same text works in
    `temporal workflow list --query` and the Web UI). Unknown values: CaseworkError. `queue`:
    the cases in one queue (the door lists a partner's engineer their partner's, P3)."""
    clauses = [f"WorkflowType = '{CASE_WORKFLOW}'", LATEST_RUNS]
    chosen = _one_of("state", state, CASE_STATES)
    if chosen in OPEN_STATES:  # a case left in this state by a terminated run is not in it
        clauses += [f"{names.CASE_STATE} = '{chosen}'", "ExecutionStatus = 'Running'"]
    elif chosen == "closed":  # closed by the customer (E4); its workflow may still be draining
        clauses += [
            f"{names.CASE_STATE} = 'closed'",
            "ExecutionStatus IN ('Running', 'Completed')",
        ]
    elif chosen is not None:  # ended from outside the case
        clauses.append(f"ExecutionStatus = '{VISIBILITY_STATUS[chosen]}'")
    filters = [
        (names.CASE_PRIORITY, _one_of("priority", priority, tuple(p.value for p in Priority))),
        (names.CASE_TIER, _tier(tier)),
    ]
    if account is not None:
        if not _QUERY_SAFE.match(account.strip()):
            raise CaseworkError(
                f"{account!r} is not an account id; ids are letters, digits and . _ @ : -"
            )
        filters.append((names.CASE_ACCOUNT, account.strip()))
    if queue is not None:
        if not _QUERY_SAFE.match(queue):
            raise CaseworkError(
                f"{queue!r} is not a queue; queues are letters, digits and . _ @ : -"
            )
        filters.append((names.CASE_QUEUE, queue))
    clauses += [f"{name} = '{value}'" for name, value in filters if value is not None]
    if breached is not None:
        clauses.append(f"{names.CASE_SLA_BREACHED} = {'true' if breached else 'false'}")
    if restricted is not None:
        clauses.append(f"{names.CASE_RESTRICTED} = {'true' if restricted else 'false'}")
    if security:  # A5: the case's category flags a security vulnerability issue
        clauses.append(f"{names.CASE_CATEGORY} = '{Category.SECURITY_VULNERABILITY.value}'")
    return " AND ".join(clauses)
