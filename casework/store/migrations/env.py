"""Alembic's entry point for casework's migrations, run from code only (`casework.store.schema`):
the caller opens the transaction, takes the migration lock and hands its connection over in
`config.attributes["connection"]`. There is no alembic.ini and no URL here."""

from __future__ import annotations

from alembic import context

from casework.store.tables import metadata

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=metadata,  # what `alembic check` / autogenerate would compare against
)
with context.begin_transaction():
    context.run_migrations()
