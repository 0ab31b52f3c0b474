"""api_keys: scopes of their own (keys made before carry their account's role's scopes)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 05:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The scopes each role held when keys got scopes of their own (a snapshot: migrations do not
# follow later changes to the code).
_ROLE_SCOPES = {
    "admin": "admin catalog:write events:write jobs:manage keys:manage models:manage read recommendations:read",
    "owner": "catalog:write events:write jobs:manage keys:manage read recommendations:read",
    "service": "events:write keys:manage recommendations:read",
    "viewer": "keys:manage read recommendations:read",
}


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scopes", sa.String(length=255), nullable=True))
    for role, scopes in _ROLE_SCOPES.items():
        op.execute(
            sa.text(
                "UPDATE api_keys SET scopes = :scopes WHERE account_id IN (SELECT id FROM accounts WHERE role = :role)"
            ).bindparams(scopes=scopes, role=role)
        )
    op.execute(sa.text("UPDATE api_keys SET scopes = '' WHERE scopes IS NULL"))
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("scopes", existing_type=sa.String(length=255), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("scopes")
