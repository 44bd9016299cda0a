"""The textbook case, built as casework files: one queue (FortiGate, PLATINUM P3), Poisson
arrivals at `arrival_rate` an hour, `servers` L1 engineers on shift around the clock with
exponential service at `service_rate` an hour, and Customer Care triage holding the one shared
queue, so that the first response is the start of service. Used by the Erlang C test and
`benchmarks/simulate.py --textbook`."""

from __future__ import annotations

from datetime import timedelta

from casework.domain.directory import Directory
from casework.domain.sla import SlaPolicy, policy_with
from casework.simulation.load import LoadFile

NO_BREACH = "30d"
"""Targets far beyond any wait, so that no breach escalation adds work the textbook lacks."""


def textbook_directory(servers: int) -> Directory:
    return Directory.model_validate(
        {
            "products": ["FortiGate"],
            "accounts": [
                {
                    "id": "acme",
                    "name": "Acme",
                    "tier": "PLATINUM",
                    "users": 1000,
                    "contacts": [{"id": "acme-alice", "name": "Alice"}],
                }
            ],
            "engineers": [
                {"id": "cc-triage", "name": "Triage", "level": "L0", "skills": ["FortiGate"]},
                *(
                    {
                        "id": f"gsc-{n:03d}",
                        "name": f"Engineer {n}",
                        "level": "L1",
                        "skills": ["FortiGate"],
                    }
                    for n in range(1, servers + 1)
                ),
            ],
            "escalation_managers": [{"id": "em-jon", "name": "Jon"}],
        }
    )


def textbook_policy(target: str | timedelta = NO_BREACH) -> SlaPolicy:
    """One `target` for every tier and priority (by default, one no case reaches)."""
    return policy_with(every_tier={"P1": target, "P2": target, "P3": target}, routing_retry="5m")


def textbook_load(arrival_rate: float, service_rate: float) -> LoadFile:
    mean = timedelta(hours=1 / service_rate)
    return LoadFile.model_validate(
        {
            "arrivals": [
                {
                    "account": "acme",
                    "priority": "P3",
                    "product": "FortiGate",
                    "per_hour": arrival_rate,
                }
            ],
            "service": {
                "L0": {"distribution": "exponential", "mean": "1m"},
                "L1": {"distribution": "exponential", "mean": mean},
            },
            "triage": True,
        }
    )
