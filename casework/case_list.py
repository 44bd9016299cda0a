"""Listing cases without the Temporal SDK: the visibility query for `casework list`'s filters
and one row of the list. Pure; `casework.client.list_cases` runs the query (the door does, for
the CLI), so `casework list` answers without loading Temporal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from casework import search_attribute_names as names
from casework.domain.endings import ENDINGS, OPEN_STATES, VISIBILITY_STATUS
from casework.domain.models import Category, Lenient, Priority
from casework.domain.vocabulary import tier_name_refusal
from casework.errors import CaseworkError

CASE_WORKFLOW = "Case"
CASE_STATES = (*OPEN_STATES, *ENDINGS)
ENDED_OUTSIDE = tuple(e for e in ENDINGS if e != "closed")
"""The endings only Temporal's visibility knows (the case's own rows stop at its last state)."""
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
    subject: str = ""
    """Issue 26: the case's subject (U5: withheld from a reader outside a restricted case's
    queue); empty from the visibility store, which holds none."""
    updated_at: datetime | None = None
    sla_remaining_seconds: float | None = None
    """S2, U4: time left to the first response, read when the list was read."""
    sla_paused_reason: str | None = None
    sla_read_at: datetime | None = None


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


@dataclass(frozen=True)
class CaseFilters:
    """What a list of cases is filtered by: `casework list`'s options, `GET /v1/cases`'s query
    (the door reads it into this class) and the page's state and priority. Values as a person
    types them (any case); an unknown one: CaseworkError from `query`."""

    state: str | None = None
    priority: str | None = None
    tier: str | None = None
    breached: bool | None = None
    account: str | None = None
    restricted: bool | None = None
    security: bool = False

    def query(self, queue: str | None = None) -> str:
        """The visibility query for Case workflows matching the filters (the same text works
        in `temporal workflow list --query` and the Web UI). `queue`: the cases in one queue
        (the door lists a partner's engineer their partner's, P3; never a caller's filter)."""
        clauses = [f"WorkflowType = '{CASE_WORKFLOW}'", LATEST_RUNS, *_state_clauses(self.state)]
        filters = [
            (names.CASE_PRIORITY, _one_of("priority", self.priority, PRIORITIES)),
            (names.CASE_TIER, _tier(self.tier)),
        ]
        if self.account is not None:
            account = _query_safe(self.account.strip(), self.account, "an account id", "ids")
            filters.append((names.CASE_ACCOUNT, account))
        if queue is not None:
            filters.append((names.CASE_QUEUE, _query_safe(queue, queue, "a queue", "queues")))
        clauses += [f"{name} = '{value}'" for name, value in filters if value is not None]
        if self.breached is not None:
            clauses.append(f"{names.CASE_SLA_BREACHED} = {_flag(self.breached)}")
        if self.restricted is not None:
            clauses.append(f"{names.CASE_RESTRICTED} = {_flag(self.restricted)}")
        if self.security:  # A5: the case's category flags a security vulnerability issue
            clauses.append(f"{names.CASE_CATEGORY} = '{Category.SECURITY_VULNERABILITY.value}'")
        return " AND ".join(clauses)

    def columns(self) -> dict[str, Any]:
        """The filters as values of the case list's rows (casework.store.case_rows), checked
        as `query` checks them (CaseworkError). A state a case's workflow ends in from outside
        (terminated, timed out) is not one a row knows: `ENDED_OUTSIDE` says which."""
        account = self.account
        if account is not None:
            account = _query_safe(account.strip(), account, "an account id", "ids")
        return {
            "state": _one_of("state", self.state, CASE_STATES),
            "priority": _one_of("priority", self.priority, PRIORITIES),
            "tier": _tier(self.tier),
            "breached": self.breached,
            "account": account,
            "restricted": self.restricted,
            "category": Category.SECURITY_VULNERABILITY.value if self.security else None,
        }

    def params(self) -> dict[str, str | None]:
        """The filters as `GET /v1/cases` takes them (None: not sent)."""
        return {
            "state": self.state,
            "priority": self.priority,
            "tier": self.tier,
            "breached": None if self.breached is None else _flag(self.breached),
            "account": self.account,
            "restricted": None if self.restricted is None else _flag(self.restricted),
            "security": "true" if self.security else None,
        }


PRIORITIES = tuple(p.value for p in Priority)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _state_clauses(state: str | None) -> list[str]:
    chosen = _one_of("state", state, CASE_STATES)
    if chosen in OPEN_STATES:  # a case left in this state by a terminated run is not in it
        return [f"{names.CASE_STATE} = '{chosen}'", "ExecutionStatus = 'Running'"]
    if chosen == "closed":  # closed by the customer (E4); its workflow may still be draining
        return [f"{names.CASE_STATE} = 'closed'", "ExecutionStatus IN ('Running', 'Completed')"]
    if chosen is not None:  # ended from outside the case
        return [f"ExecutionStatus = '{VISIBILITY_STATUS[chosen]}'"]
    return []


def _query_safe(value: str, typed: str, what: str, these: str) -> str:
    """`value`, if it may stand in a visibility query; else what `typed` should have been."""
    if not _QUERY_SAFE.match(value):
        raise CaseworkError(f"{typed!r} is not {what}; {these} are letters, digits and . _ @ : -")
    return value


def case_list_query(*, queue: str | None = None, **filters: Any) -> str:
    """`CaseFilters(**filters).query(queue)`: the visibility query for the filters."""
    return CaseFilters(**filters).query(queue)
