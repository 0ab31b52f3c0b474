"""online metrics: exposures of every answer served to a person (inside an experiment or not, with
where it came from and the model that found it), and request statistics per minute and route

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exposures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("model_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("fallback", sa.Boolean(), nullable=True))
    # Exposures so far were experiments' answers: their model from the version they name; where
    # they came from was not kept.
    op.execute(
        "UPDATE exposures SET source = 'model', fallback = false, "
        "model = (SELECT name FROM model_versions WHERE model_versions.id = exposures.model_version_id), "
        "model_version = (SELECT version FROM model_versions WHERE model_versions.id = exposures.model_version_id)"
    )
    with op.batch_alter_table("exposures", schema=None) as batch_op:
        batch_op.alter_column("source", existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column("fallback", existing_type=sa.Boolean(), nullable=False)
        batch_op.alter_column("experiment_id", existing_type=sa.String(length=100), nullable=True)
        batch_op.alter_column("variant", existing_type=sa.String(length=100), nullable=True)
        batch_op.create_index("ix_exposures_shown_at", ["shown_at"], unique=False)
        # Only answers inside an experiment are looked up by experiment.
        batch_op.drop_index("ix_exposures_experiment_id_user_id")
        batch_op.create_index(
            "ix_exposures_experiment_id_user_id",
            ["experiment_id", "user_id"],
            unique=False,
            postgresql_where=sa.text("experiment_id IS NOT NULL"),
            sqlite_where=sa.text("experiment_id IS NOT NULL"),
        )
    op.create_table(
        "request_statistics",
        sa.Column("minute", sa.DateTime(), nullable=False),
        sa.Column("route", sa.String(length=255), nullable=False),
        sa.Column("latency_bound_us", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("cache_hits", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("minute", "route", "latency_bound_us", name=op.f("pk_request_statistics")),
    )


def downgrade() -> None:
    op.drop_table("request_statistics")
    op.execute("DELETE FROM exposures WHERE experiment_id IS NULL")
    with op.batch_alter_table("exposures", schema=None) as batch_op:
        batch_op.drop_index("ix_exposures_shown_at")
        batch_op.drop_index("ix_exposures_experiment_id_user_id")
        batch_op.create_index("ix_exposures_experiment_id_user_id", ["experiment_id", "user_id"], unique=False)
        batch_op.alter_column("variant", existing_type=sa.String(length=100), nullable=False)
        batch_op.alter_column("experiment_id", existing_type=sa.String(length=100), nullable=False)
        batch_op.drop_column("fallback")
        batch_op.drop_column("source")
        batch_op.drop_column("model_version")
        batch_op.drop_column("model")
