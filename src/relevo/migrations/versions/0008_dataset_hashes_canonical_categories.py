"""datasets: each file's SHA-256 and whether its import asked to repeat an earlier one; an
interactions file is imported once (a partial unique index). products: categories written
canonically ("Books > Fiction"), as every way into the catalog now writes them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Snapshots of datasets.models.IMPORTED_ONCE and core.categories.normalise (migrations do not
# follow later changes to the code).
_IMPORTED_ONCE = "dataset_type = 'interactions' AND NOT allow_duplicate AND status IN ('importing', 'imported')"


def _canonical(category: str) -> str:
    segments = (" ".join(segment.split()) for segment in category.split(">"))
    return " > ".join(segment for segment in segments if segment)


def upgrade() -> None:
    # Earlier imports keep no hash: their files are not known, and none of them is refused.
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("allow_duplicate", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(
            "uq_datasets_content_sha256",
            ["content_sha256"],
            unique=True,
            postgresql_where=sa.text(_IMPORTED_ONCE),
            sqlite_where=sa.text(_IMPORTED_ONCE),
        )
    # Category filters in SQL compare stored categories as they are: those stored before in
    # another form ("Books>Fiction") are rewritten, and their revision raised for serving.
    products = sa.table("products", sa.column("category", sa.String()), sa.column("revision", sa.Integer()))
    connection = op.get_bind()
    stored = connection.execute(sa.select(products.c.category).where(products.c.category.is_not(None)).distinct())
    for category in list(stored.scalars()):
        if _canonical(category) != category:
            connection.execute(
                products.update()
                .where(products.c.category == category)
                .values(category=_canonical(category), revision=products.c.revision + 1)
            )


def downgrade() -> None:
    # Canonical categories are categories as good as any before: they stay.
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index("uq_datasets_content_sha256")
        batch_op.drop_column("allow_duplicate")
        batch_op.drop_column("content_sha256")
