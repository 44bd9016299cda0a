"""TEMPORARY stand-in until the store's feed repository lands (store-split branch)."""

from __future__ import annotations

from temporalio import activity

from casework.contracts import RECORD_FEED, FeedBatch


class FeedActivities:
    def __init__(self, store) -> None:  # type: ignore[no-untyped-def]
        self.store = store

    @activity.defn(name=RECORD_FEED)
    def record_feed(self, batch: FeedBatch) -> int:
        return len(batch.entries)
