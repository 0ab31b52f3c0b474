"""rate_limit_quotas: the rates an admin gave one API key or one account instead of the defaults

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 18:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_quotas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("api", sa.String(length=64), nullable=True),
        sa.Column("training", sa.String(length=64), nullable=True),
        sa.Column("bulk", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(account_id IS NULL) <> (api_key_id IS NULL)", name=op.f("ck_rate_limit_quotas_one_holder")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_rate_limit_quotas_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_rate_limit_quotas_api_key_id_api_keys"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_quotas")),
        sa.UniqueConstraint("account_id", name=op.f("uq_rate_limit_quotas_account_id")),
        sa.UniqueConstraint("api_key_id", name=op.f("uq_rate_limit_quotas_api_key_id")),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_quotas")
