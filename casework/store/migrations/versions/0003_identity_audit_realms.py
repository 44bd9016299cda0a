"""Identity and need-to-know (issue 10): API keys, the audit of restricted reads, case realms.

- `api_keys`: the door's credentials, hashed, each bound to one directory id.
- `audit`: every read of restricted content, granted or refused, from any path (U5).
- `case_realms`: which workflows carry a restricted customer's data, so the payload codec
  encrypts them with the restricted keys.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("directory_id", sa.String(64), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_api_keys_directory_id", "api_keys", ["directory_id"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("principal", sa.String(64), nullable=False),
        sa.Column("on_behalf_of", sa.String(64)),
        sa.Column("path", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(200)),
        sa.Column("account_id", sa.String(64)),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_audit_at", "audit", ["at"])
    op.create_index("ix_audit_case_id", "audit", ["case_id"])
    op.create_table(
        "case_realms",
        sa.Column("workflow_id", sa.String(200), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("restricted", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("case_realms")
    op.drop_index("ix_audit_case_id", "audit")
    op.drop_index("ix_audit_at", "audit")
    op.drop_table("audit")
    op.drop_index("ix_api_keys_directory_id", "api_keys")
    op.drop_table("api_keys")
