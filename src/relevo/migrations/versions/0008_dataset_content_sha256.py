"""datasets: each file's SHA-256 and whether its import asked to repeat an earlier one; an
interactions file is imported once (a partial unique index)

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

# A snapshot of datasets.models.IMPORTED_ONCE (migrations do not follow later changes to the code).
_IMPORTED_ONCE = "dataset_type = 'interactions' AND NOT allow_duplicate AND status IN ('importing', 'imported')"


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


def downgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index("uq_datasets_content_sha256")
        batch_op.drop_column("allow_duplicate")
        batch_op.drop_column("content_sha256")
