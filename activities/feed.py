"""The case feed in the database (E4 Show Feed): the case hands over its new entries in
batches, so the feed grows in the database instead of in workflow state."""

from __future__ import annotations

from temporalio import activity

from casework.contracts import RECORD_FEED, FeedBatch
from casework.store import Store


class FeedActivities:
    def __init__(self, store: Store) -> None:
        self.store = store

    @activity.defn(name=RECORD_FEED)
    def record_feed(self, batch: FeedBatch) -> int:
        """Append the batch; idempotent by (case, seq), so a retry adds nothing twice. Returns
        how many entries were new."""
        return self.store.feed.append(
            batch.case_id, [e.model_dump() for e in batch.entries], restricted=batch.restricted
        )
