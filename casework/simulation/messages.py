"""What the crowd workflow, its activities and the engine's wrapped activities say to each
other. Pure pydantic models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from casework.domain.models import Level, Priority, Tier
from casework.simulation.load import LoadFile
from casework.simulation.plan import Arrival, Roster

CROWD_WORKFLOW = "SimulationCrowd"
ENGINE_SAID = "engine_said"
SIM_OPEN = "sim_open"
SIM_ACT = "sim_act"


class EngineNote(BaseModel):
    """What the engine told a person of the crowd (through its outbox) or did (released a
    closed case's engineer)."""

    kind: Literal["assigned", "manager_alert", "released"]
    case_id: str
    person_id: str = ""
    key: str = ""
    at: datetime


class ActOrder(BaseModel):
    """One action on a case, as `actor` (signed for them, as the door does)."""

    case_id: str
    actor: str
    action: str
    payload: dict[str, Any]
    then: list[ActOrder] = Field(default_factory=list)
    """Actions to send after this one succeeds, in order (resolve, then the customer closes)."""
    at: datetime | None = None


class ActOutcome(BaseModel):
    done: bool
    refusal: str = ""


class OpenOrder(BaseModel):
    arrival: Arrival
    phone_agent: str | None = None


class SimCase(BaseModel):
    case_id: str
    account_id: str
    contact_id: str
    tier: Tier
    priority: Priority
    level: Level
    opened_at: datetime
    restricted: bool = False
    product: str
    owner: str | None = None
    responded: bool = False
    visit: int = 0
    done: bool = False
    triaged: bool = False


class Event(BaseModel):
    at: datetime
    seq: int
    kind: Literal["day", "arrive", "finish", "wake", "escalate_now", "acknowledge"]
    case_id: str = ""
    person_id: str = ""
    key: str = ""
    arrival: Arrival | None = None


class EngineerState(BaseModel):
    backlog: list[str] = Field(default_factory=list)
    current: str | None = None
    unreleased: list[str] = Field(default_factory=list)
    wake_at: datetime | None = None


class Tally(BaseModel):
    opened: int = 0
    responded: int = 0
    resolved: int = 0
    escalated: int = 0
    triaged: int = 0
    escalate_now: int = 0
    acknowledged: int = 0
    refused: int = 0
    refusals: list[str] = Field(default_factory=list)
    """The first few refusals the crowd met (a crowd that acts as it should meets none)."""


class CrowdState(BaseModel):
    now_day: int = 0
    seq: int = 0
    events: list[Event] = Field(default_factory=list)
    cases: dict[str, SimCase] = Field(default_factory=dict)
    engineers: dict[str, EngineerState] = Field(default_factory=dict)
    triage: list[str] = Field(default_factory=list)
    dispatching: int = 0
    pending: list[EngineNote] = Field(default_factory=list)
    tally: Tally = Field(default_factory=Tally)


class CrowdInput(BaseModel):
    load: LoadFile
    roster: Roster
    seed: int
    start: datetime
    days: int
    drain: float = Field(default=2 * 86400.0, description="seconds after the last day")
    engine_task_queue: str
    state: CrowdState | None = None


class CrowdSummary(BaseModel):
    tally: Tally
    ended_at: datetime
