"""A contact's own time zone (issue 26): the Case Center shows each person's times in their
zone; engineers and Escalation Managers already have one (their shift's), a contact may now
have one too. Optional: a contact without one reads UTC, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("zone", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("zone")
