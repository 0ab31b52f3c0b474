"""publishable_keys: an API key's kind (secret or publishable) and a publishable key's origins

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as table:
        table.add_column(sa.Column("kind", sa.String(length=16), server_default="secret", nullable=False))
        table.add_column(sa.Column("origins", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as table:
        table.drop_column("origins")
        table.drop_column("kind")
