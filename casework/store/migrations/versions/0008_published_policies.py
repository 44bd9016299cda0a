"""The SLA policies the workers run under (issue 30): `policies`, one row per policy a worker
published as it started, so that a door running alone (`casework api`) opens a case in one
round trip to Temporal, deciding its entitlement with the workers' newest policy rather than a
copy of its own. Additive: a casework of revision 0007 ignores the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_policies_published_at", "policies", ["published_at"])


def downgrade() -> None:
    op.drop_index("ix_policies_published_at", "policies")
    op.drop_table("policies")
