"""model_registry: models by name, each version's source, kind and format, its files by SHA-256,
aliases, and the append-only log of registry changes

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 20:00:00.000000
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_APPEND_ONLY = "registry_audit is append-only: its rows are never changed or deleted"


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registered_models")),
        sa.UniqueConstraint("name", name=op.f("uq_registered_models_name")),
    )
    # Every name that has versions already is a model.
    op.execute(
        "INSERT INTO registered_models (name, created_at) "
        "SELECT name, MIN(created_at) FROM model_versions GROUP BY name ORDER BY MIN(id)"
    )
    op.create_table(
        "registry_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("details", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_audit")),
    )
    op.create_index("ix_registry_audit_name", "registry_audit", ["name", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION registry_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER registry_audit_append_only BEFORE UPDATE OR DELETE ON registry_audit "
            "FOR EACH ROW EXECUTE FUNCTION registry_audit_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER registry_audit_no_{event.lower()} BEFORE {event} ON registry_audit "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )
    op.create_table(
        "model_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name=op.f("fk_model_aliases_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_aliases")),
        sa.UniqueConstraint("name", "alias", name=op.f("uq_model_aliases_name_alias")),
    )
    op.create_table(
        "model_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name=op.f("fk_model_files_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_files")),
        sa.UniqueConstraint("version_id", "name", name=op.f("uq_model_files_version_id_name")),
    )
    op.create_index("ix_model_files_sha256", "model_files", ["sha256"], unique=False)
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("source", sa.String(length=16), server_default="trained", nullable=False))
        batch.add_column(sa.Column("kind", sa.String(length=16), server_default="recommender", nullable=False))
        batch.add_column(sa.Column("format", sa.String(length=16), server_default="relevo", nullable=False))
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        for column in ("description", "format", "kind", "source"):
            batch.drop_column(column)
    op.drop_index("ix_model_files_sha256", table_name="model_files")
    op.drop_table("model_files")
    op.drop_table("model_aliases")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS registry_audit_append_only ON registry_audit")
        op.execute("DROP FUNCTION IF EXISTS registry_audit_append_only()")
    op.drop_index("ix_registry_audit_name", table_name="registry_audit")
    op.drop_table("registry_audit")
    op.drop_table("registered_models")
