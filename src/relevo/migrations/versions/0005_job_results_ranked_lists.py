"""job results keep their ranked products as two parallel lists

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 14:05:00.000000
"""

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BATCH = 5_000
_results = sa.table(
    "job_results",
    sa.column("id", sa.Integer()),
    sa.column("items", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")),
)


def upgrade() -> None:
    _rewrite(_to_lists)


def downgrade() -> None:
    _rewrite(_to_objects)


def _to_lists(items: Any) -> Any:
    """[{"product_id": p, "score": s}, ...] -> {"product_id": [p, ...], "score": [s, ...]}"""
    if not isinstance(items, list):
        return items
    return {"product_id": [item["product_id"] for item in items], "score": [item["score"] for item in items]}


def _to_objects(ranked: Any) -> Any:
    if not isinstance(ranked, dict):
        return ranked
    return [{"product_id": p, "score": s} for p, s in zip(ranked["product_id"], ranked["score"], strict=True)]


def _rewrite(convert: Callable[[Any], Any]) -> None:
    connection = op.get_bind()
    last = 0
    while True:
        query = sa.select(_results.c.id, _results.c["items"]).where(_results.c.id > last).order_by(_results.c.id)
        rows = connection.execute(query.limit(_BATCH)).all()
        if not rows:
            return
        connection.execute(
            _results.update().where(_results.c.id == sa.bindparam("row_id")).values(items=sa.bindparam("converted")),
            [{"row_id": row.id, "converted": convert(row[1])} for row in rows],
        )
        last = rows[-1].id
