"""Notifications that reach people (issue 14): the relay's configuration (`config`), what a
message says on each channel (`compose`, pure, U5), how it is sent (`send`: SMTP, chat and
paging webhooks, integrations' signed webhooks), the signature (`signing`) and the embedded
SMTP sink of `casework up` (`sink`).

The relay itself is Temporal-native: the `NotificationRelay` workflow (`workflows/relay.py`)
runs the `deliver_due` activity (`activities/relay.py`) whenever the outbox has news."""
