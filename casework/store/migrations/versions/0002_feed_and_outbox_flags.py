"""The case feed moves into the database; outbox rows say whether they are restricted (U5).

- `feed`: one row per feed entry of a case, keyed by (case_id, seq), seq being the entry's
  position in the case's feed: a case's feed grows here, not in workflow state.
- `outbox.restricted` and `outbox.account_id`: the case workflow says, per notification,
  whether it is about a US Citizen Support case and whose; `casework outbox` withholds by
  the row's own flag instead of guessing from the directory.

Rows written before this revision carry no flag, so they get it once, here, by the guess
`casework outbox` made until now (frozen in this file): a case is restricted when any of its
notifications goes to a contact of a US Citizen Support account, and then all its rows are,
for that account; a row of no case (or of a case with no contact notification) is restricted
when it goes to such a contact (for that account) or to an engineer of the restricted queue
(no account: members only).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed",
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("refused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("case_id", "seq"),
    )
    op.add_column(
        "outbox",
        sa.Column("restricted", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column("outbox", sa.Column("account_id", sa.String(64), nullable=True))
    _flag_restricted_rows(op.get_bind())


def downgrade() -> None:
    op.drop_column("outbox", "account_id")
    op.drop_column("outbox", "restricted")
    op.drop_table("feed")


def _flag_restricted_rows(conn: sa.Connection) -> None:
    accounts = sa.table("accounts", sa.column("id"), sa.column("us_citizen_support", sa.Boolean))
    contacts = sa.table("contacts", sa.column("id"), sa.column("account_id"))
    engineers = sa.table(
        "engineers", sa.column("id"), sa.column("citizenship", sa.JSON), sa.column("work_location")
    )
    locations = sa.table("authorised_locations", sa.column("id"))
    outbox = sa.table(
        "outbox",
        sa.column("id"),
        sa.column("case_id"),
        sa.column("recipient_kind"),
        sa.column("recipient_id"),
        sa.column("restricted", sa.Boolean),
        sa.column("account_id"),
    )
    account_of_contact: dict[str, str] = dict(
        conn.execute(
            sa.select(contacts.c.id, contacts.c.account_id)
            .join(accounts, accounts.c.id == contacts.c.account_id)
            .where(accounts.c.us_citizen_support == sa.true())
        ).all()
    )
    authorised = set(conn.execute(sa.select(locations.c.id)).scalars())
    members = {
        e.id
        for e in conn.execute(sa.select(engineers))
        if e.citizenship is not None and e.work_location in authorised
    }
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.case_id, outbox.c.recipient_kind, outbox.c.recipient_id)
    ).all()

    case_account: dict[str, str | None] = {}
    for r in rows:
        if r.recipient_kind != "contact" or not r.case_id:
            continue
        account = account_of_contact.get(r.recipient_id)
        if account is not None or r.case_id not in case_account:
            case_account[r.case_id] = account or case_account.get(r.case_id)
    flagged: list[dict[str, Any]] = []
    for r in rows:
        if r.case_id in case_account:
            account = case_account[r.case_id]
            restricted = account is not None
        else:
            account = account_of_contact.get(r.recipient_id)
            restricted = account is not None or (
                r.recipient_kind == "engineer" and r.recipient_id in members
            )
        if restricted:
            flagged.append({"row_id": r.id, "account": account})
    if flagged:
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == sa.bindparam("row_id"))
            .values(restricted=sa.true(), account_id=sa.bindparam("account")),
            flagged,
        )
