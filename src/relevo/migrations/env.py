"""Alembic environment: runs migrations on the connection Relevo hands over."""

from alembic import context

from relevo.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `relevo db upgrade`, which supplies the database connection")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
