"""The engine's tables: one SQLAlchemy `MetaData`, the schema as the newest migration leaves it.

The migrations in `casework/store/migrations/versions/` make and change these tables; a change
here needs a revision there (tests/test_store_migrations.py compares the two).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

products = Table("products", metadata, Column("name", String(200), primary_key=True))
accounts = Table(
    "accounts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("users", Integer, nullable=False),
    Column("us_citizen_support", Boolean, nullable=False, default=False),
    Column("zone", String(64)),
    Column("partner", String(64)),
    Column("premium", JSON),  # A3: {"offering": ..., "expert": ...}
)
partners = Table(
    "partners",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320)),
    Column("phone", String(200)),
    Column("url", String(300)),
    Column("support_now_validated", Boolean, nullable=False, default=False),
)
contacts = Table(
    "contacts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320)),
    Column("phone", String(200)),
    Column("approver", Boolean, nullable=False, default=False),
    Column("zone", String(64)),  # the zone the Case Center shows their times in (issue 26)
)
engineers = Table(
    "engineers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("level", String(4), nullable=False),
    Column("skills", JSON, nullable=False),
    Column("shift", JSON, nullable=False),
    Column("email", String(320)),
    Column("citizenship", JSON),
    Column("work_location", String(64)),
    Column("restricted_queue_only", Boolean, nullable=False, default=False),
    Column("partner", String(64)),
    Column("zone", String(64)),  # A3: a premium expert's business-hours zone
)
authorised_locations = Table(
    "authorised_locations", metadata, Column("id", String(64), primary_key=True)
)
escalation_managers = Table(
    "escalation_managers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("rota_position", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320)),
    Column("phone", String(200)),
    Column("shift", JSON, nullable=False),
)
support_director = Table(
    "support_director",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320)),
    Column("phone", String(200)),
)
policies = Table(
    "policies",
    metadata,
    Column("digest", String(64), primary_key=True),  # sha256 of the policy's JSON
    Column("body", Text, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, index=True),
)
"""The SLA policies the engine's workers run under (issue 30): each worker publishes its own
as it starts; a door that runs alone opens cases under the newest (casework.store.policies)."""
case_numbers = Table(
    "case_numbers",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
assignments = Table(
    "assignments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("case_id", String(32), nullable=False, index=True),
    Column("engineer_id", String(64), nullable=False, index=True),
    Column("level", String(4), nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True)),
)
problem_reports = Table(
    "problem_reports",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("case_id", String(32), nullable=False, index=True),
    Column("summary", Text, nullable=False),
    Column("filed_by", String(64), nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
)
log_approvals = Table(
    "log_approvals",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("case_id", String(32), nullable=False, index=True),
    Column("logs", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("decided_by", String(64)),
    Column("decided_at", DateTime(timezone=True)),
    Column("pr_id", String(32)),
)
shared_logs = Table(
    "shared_logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pr_id", String(32), nullable=False, index=True),
    Column("attachment_id", String(64), nullable=False),
    Column("name", String(300), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("approval_request_id", String(64), nullable=False),
    Column("shared_at", DateTime(timezone=True), nullable=False),
)
referrals = Table(
    "referrals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False, unique=True),
    Column("account", String(64), nullable=False, index=True),
    Column("contact", String(64), nullable=False),
    Column("partner", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
case_facts = Table(
    "case_facts",
    metadata,
    Column("case_id", String(32), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("account", String(64), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("priority", String(4), nullable=False),
    Column("category", String(32), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False, index=True),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("responded_at", DateTime(timezone=True)),
    Column("breached_at", DateTime(timezone=True)),
)
"""One row per case for `casework report`: written by the case workflow (through the
`record_case_facts` activity) at opening, first response, priority change and breach."""
case_rows = Table(
    "case_rows",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("account", String(64), nullable=False, index=True),
    Column("tier", String(16), nullable=False),
    Column("category", String(32), nullable=False),
    Column("priority", String(4), nullable=False),
    Column("state", String(32), nullable=False),
    Column("level", String(4), nullable=False),
    Column("owner", String(64), index=True),
    Column("queue", String(64), nullable=False, index=True),
    Column("restricted", Boolean, nullable=False),
    Column("breached", Boolean, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("responded_at", DateTime(timezone=True)),
    Column("clock", JSON, nullable=False),  # U4: the case's clock spec, read at read time
    Column("opened_at", DateTime(timezone=True), nullable=False, index=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("subject", Text, nullable=False),  # U5: sealed for a restricted case
    Column("subject_key", String(120), nullable=False),  # sorts; "" when sealed
    Column("description", Text, nullable=False),  # U5: sealed for a restricted case
)
"""Issue 26: one row per case for the case list and the engineer's queue (paged, sorted,
searched), written by the case workflow (`record_case_row`) whenever its search attributes
change; its texts at the first write of each run."""
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("case_id", String(32), index=True),
    Column("recipient_kind", String(32), nullable=False),
    Column("recipient_id", String(64), nullable=False),
    Column("address", String(320)),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # U5: about a US Citizen Support case (the case workflow says so), and whose
    Column("restricted", Boolean, nullable=False, default=False, server_default=false()),
    Column("account_id", String(64)),
    # Delivery (issue 14): the relay's progress. status: pending, delivered, dead (given up
    # after its attempts; `casework outbox retry` sends it again) or before_relay (queued by
    # a casework without a relay: never sent). channels_done: the channels that took it.
    Column("status", String(16), nullable=False, default="pending", server_default="pending"),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("failed_attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("channels_done", JSON),
    Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
)
deliveries = Table(
    "deliveries",
    metadata,
    # Issue 27: the relay's progress per outbox row and channel (email, chat, page, webhook),
    # so that each channel is a lane of its own; the outbox row keeps the summary.
    Column("outbox_id", Integer, primary_key=True, autoincrement=False),
    Column("channel", String(16), primary_key=True),
    Column("status", String(16), nullable=False, default="pending", server_default="pending"),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("failed_attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    Column("last_error", Text),
    # Issue 30: the round that holds the delivery (a token) and until when; a round takes only
    # deliveries no other round holds (casework.store.deliveries, `due`)
    Column("claim", String(32)),
    Column("claimed_until", DateTime(timezone=True)),
    Index("ix_deliveries_channel_status_next_attempt_at", "channel", "status", "next_attempt_at"),
)
escalations = Table(
    "escalations",
    metadata,
    Column("escalation_id", String, primary_key=True),  # "<case_id>-E<n>", n from 1
    Column("case_id", String, nullable=False),
    Column("account", String, nullable=False),
    Column("tier", String, nullable=False),
    Column("priority", String, nullable=False),
    Column("channel", String, nullable=False),  # "online", "phone" or "sla_breach"
    Column("reason", String, nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("acknowledged_at", DateTime(timezone=True), nullable=True),
    Column("acknowledged_by", String, nullable=True),
    Column("ended_at", DateTime(timezone=True), nullable=True),
)
feed = Table(
    "feed",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),  # position in the case's feed
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("refused", Boolean, nullable=False, default=False, server_default=false()),
)
"""E4 Show Feed: every entry of every case, in order; the case workflow appends, readers page."""
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),  # the key's public id, in the key itself
    Column("directory_id", String(64), nullable=False, index=True),
    Column("secret_sha256", String(64), nullable=False),  # the secret is shown once, never kept
    Column("label", String(200), nullable=False, default="", server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)
"""Credentials of the door (issue 10): one row per API key, bound to one directory id."""
audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("principal", String(64), nullable=False),
    Column("on_behalf_of", String(64)),
    Column("path", String(32), nullable=False),  # api, codec, cli
    Column("action", String(64), nullable=False),  # read, feed, decode, attachment, outbox
    Column("case_id", String(200), index=True),
    Column("account_id", String(64)),
    Column("granted", Boolean, nullable=False),
    Column("reason", Text, nullable=False, default="", server_default=""),
)
"""U5: every read of restricted content, granted or refused, from any path."""
case_realms = Table(
    "case_realms",
    metadata,
    Column("workflow_id", String(200), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("restricted", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
"""Which key a workflow's payloads are encrypted with: a US Citizen Support case's (and its
intake's) with the restricted keys, every other with the payload keys (casework.codec)."""
notify_channels = Table(
    "notify_channels",
    metadata,
    Column("person_id", String(64), primary_key=True),
    Column("channels", JSON, nullable=False),
)
"""Issue 14: how each person of the directory is reached (email, chat, paging), by directory
id; loaded with the directory."""
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("url", String(300), nullable=False),
    Column("events", JSON, nullable=False),
    Column("secret", Text, nullable=False),  # sealed: the relay signs with it
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("removed_at", DateTime(timezone=True)),
)
"""Integrations' subscriptions to case events (issue 13's webhooks, delivered by the relay)."""
