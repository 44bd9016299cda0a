"""Claims on deliveries (issue 30): `deliveries.claim` and `deliveries.claimed_until`, so that
the worker that wrote an outbox row can send it itself, at once, while the relay's rounds go on
elsewhere: a round takes only the deliveries no other round holds, each for as long as its
sends may take (`DeliveryRepository.due`), and lets go of them as it records each outcome.
Additive: a casework of revision 0008 ignores the columns (its rounds do not look at claims; an
upgrade's mixed window can send a delivery twice, under its one idempotency key).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("claim", sa.String(32)))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claim")
