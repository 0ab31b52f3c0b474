"""products: an index on updated_at, so serving reads only the products changed lately

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 14:00:00.000000
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_products_updated_at"), "products", ["updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_products_updated_at"), table_name="products")
