"""What the crowd workflow, its activities and the engine's wrapped activities say to each
other, and the story of each case the crowd hands to the run's ledger. Pure pydantic models.

Every time here that the crowd keeps is an *ideal* instant (a whole minute,
casework.simulation.clock); only `EngineNote.at` is the engine's own instant."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from casework.domain.models import Level, Priority, Tier
from casework.simulation.clock import Phase
from casework.simulation.load import LoadFile
from casework.simulation.plan import Arrival, Roster

CROWD_WORKFLOW = "SimulationCrowd"
ENGINE_SAID = "engine_said"
SIM_OPEN = "sim_open"
SIM_ACT = "sim_act"
SIM_RECORD = "sim_record"
INVARIANT = "SimulationInvariant"
"""The type of the ApplicationError that stops a run that went wrong."""


class EngineNote(BaseModel):
    """What the engine told a person of the crowd (through its outbox) or did (released a
    closed case's engineer)."""

    kind: Literal["assigned", "manager_alert", "released"]
    case_id: str
    person_id: str = ""
    key: str = ""
    at: datetime


class Visit(BaseModel):
    """A case's stay at one level (E1, E2): when it got there, when the engine assigned it, when
    an engineer started on it (the first visit's start is the first response, S2) and when they
    finished with it. A case Customer Care holds for triage waits at the next level, from its
    opening."""

    level: Level
    queue: str
    arrived: datetime
    engineer: str | None = None
    assigned: datetime | None = None
    started: datetime | None = None
    finished: datetime | None = None
    outcome: Literal["escalated", "resolved", "passed_up"] | None = None


class SimCase(BaseModel):
    """One case as the crowd lives it; handed to the ledger when it is resolved (or as it
    stands when the run ends)."""

    case_id: str
    request_id: str = ""
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
    visits: list[Visit] = Field(default_factory=list)
    first_response: datetime | None = None
    resolved: datetime | None = None
    escalated_now: datetime | None = None
    breached: bool = False
    """S3: the engine's verdict on the first response (set from its facts when the run ends)."""


class ActOrder(BaseModel):
    """One action on a case, as `actor` (signed for them, as the door does)."""

    case_id: str
    actor: str
    action: str
    payload: dict[str, Any]
    then: list[ActOrder] = Field(default_factory=list)
    """Actions to send after this one succeeds, in order (resolve, then the customer closes)."""
    at: datetime | None = None
    """The minute the act belongs to (ideal)."""
    records: list[SimCase] = Field(default_factory=list)
    """Finished cases for the ledger, carried by the next act the crowd sends anyway."""


class ActOutcome(BaseModel):
    done: bool
    refusal: str = ""
    wall_seconds: float = 0.0
    """How long the act took in real time: the server's clock may run on by about as much
    while it is outstanding, never by a jump."""


class OpenOrder(BaseModel):
    arrival: Arrival
    phone_agent: str | None = None
    records: list[SimCase] = Field(default_factory=list)


class OpenOutcome(BaseModel):
    case_id: str
    wall_seconds: float = 0.0


class Event(BaseModel):
    minute: datetime
    phase: Phase
    kind: Literal["plan", "arrive", "finish", "start", "escalate_now", "acknowledge", "handoff"]
    case_id: str = ""
    person_id: str = ""
    key: str = ""
    arrival: Arrival | None = None


class EngineerState(BaseModel):
    backlog: list[str] = Field(default_factory=list)
    current: str | None = None
    unreleased: list[str] = Field(default_factory=list)
    start_at: datetime | None = None
    """The minute of the start this engineer already has coming (one at a time)."""


class Tally(BaseModel):
    """What the crowd did: the same for the same seed, to the act."""

    planned: int = 0
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


class Timing(BaseModel):
    """How the machine kept up (not part of the run's answer: it differs from run to run)."""

    acts: int = 0
    max_lag_seconds: float = 0.0
    """How far at most the server's clock had run past the instant of an act when it was sent."""
    late_acts: int = 0
    """Acts sent more than the phase margin late: with any, the run may not repeat byte for
    byte (casework.simulation.clock)."""


class CrowdState(BaseModel):
    day: int = 0
    seq: int = 0
    minute: datetime | None = None
    """The minute of the act being sent."""
    last: datetime | None = None
    """The latest minute an act was sent in."""
    events: list[Event] = Field(default_factory=list)
    cases: dict[str, SimCase] = Field(default_factory=dict)
    engineers: dict[str, EngineerState] = Field(default_factory=dict)
    triage: list[str] = Field(default_factory=list)
    handoff_at: datetime | None = None
    dispatching: int = 0
    inbox: list[EngineNote] = Field(default_factory=list)
    records: list[SimCase] = Field(default_factory=list)
    tally: Tally = Field(default_factory=Tally)
    timing: Timing = Field(default_factory=Timing)


class CrowdInput(BaseModel):
    load: LoadFile
    roster: Roster
    seed: int
    start: datetime
    days: int
    drain: float = Field(default=3 * 86400.0, description="seconds after the last day")
    engine_task_queue: str
    state: CrowdState | None = None


class CrowdSummary(BaseModel):
    tally: Tally
    timing: Timing
    ended_at: datetime
    """The minute the crowd stopped (ideal)."""
