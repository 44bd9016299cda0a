"""The relay's workflow and activity contract (pure pydantic, passed through the sandbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

RELAY_WORKFLOW = "NotificationRelay"
DELIVER_DUE = "deliver_due"
WAKE = "wake"
BATCH = 100
"""Rows one `deliver_due` takes on (a full batch is followed by another at once)."""


def relay_id(task_queue: str) -> str:
    """One relay per task queue (a deployment's workers share it)."""
    return f"casework-relay-{task_queue}"


class RelayState(BaseModel):
    """What a relay run carries across continue-as-new: nothing but counters."""

    rounds_before: int = Field(default=0, ge=0)
    rounds_per_run: int = Field(default=500, ge=1, le=10_000)
    """Rounds before the relay continues as new (its history stays small); with lanes, the
    rounds of all lanes together."""


Lane = Literal["email", "chat", "page", "webhook"]
LANES: tuple[Lane, ...] = ("email", "chat", "page", "webhook")
"""The relay's lanes, one per channel (issue 27), in the order `channels_done` lists them."""


class DeliveryRound(BaseModel):
    batch: int = Field(default=BATCH, ge=1, le=1_000)
    lane: Lane | None = None
    """The channel this round sends on (issue 27: one lane per channel); None: every lane at
    once (a relay started before lanes, and tests)."""


class DeliveryReport(BaseModel):
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    full: bool = False
    """The batch was full: more rows may be due now."""
    next_due_at: datetime | None = None
    """When the earliest row waiting for a retry is due."""
    planned: list[Lane] = Field(default_factory=list, max_length=len(LANES))
    """The lanes this round planned new deliveries on: the relay wakes those of them that a
    `wake` did not name (a directory that changed between the row's write and its plan)."""
