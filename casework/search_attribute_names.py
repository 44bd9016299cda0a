"""The names of a case's search attributes: plain strings, so the code that only writes queries
(`casework list` through the door) need not load the Temporal SDK (casework.search_attributes
makes the typed keys from them)."""

from __future__ import annotations

CASE_STATE = "CaseState"
CASE_PRIORITY = "CasePriority"
CASE_TIER = "CaseTier"
CASE_LEVEL = "CaseLevel"
CASE_ACCOUNT = "CaseAccount"
CASE_CATEGORY = "CaseCategory"
CASE_OWNER = "CaseOwner"
CASE_QUEUE = "CaseQueue"
CASE_SLA_BREACHED = "CaseSlaBreached"
CASE_SLA_DUE = "CaseSlaDue"
CASE_RESTRICTED = "CaseRestricted"
CASE_ESCALATED = "CaseEscalated"
