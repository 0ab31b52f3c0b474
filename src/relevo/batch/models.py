"""What a batch job stored for each user: one row per (job, user), written exactly once.

The ranked products are kept as two parallel lists, {"product_id": [...], "score": [...]},
best first: half the bytes of a list of objects, and far quicker to write by the hundred
thousand. `items` gives them back as [{product_id, score}]. A batch's many documents are
serialised at once (`ranked_documents`), which the JSON column then writes as they are."""

from datetime import datetime
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from relevo.core.db import Base, JsonDocument, utcnow


class JobResult(Base):
    __tablename__ = "job_results"
    __table_args__ = (
        UniqueConstraint("job_id", "user_id"),  # a chunk done twice (a redelivery) writes nothing new
        Index("ix_job_results_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(255))
    ranked: Mapped[dict[str, list[Any]]] = mapped_column("items", JsonDocument)  # {product_id: [...], score: [...]}
    error: Mapped[str | None] = mapped_column(Text)  # why this user has no result
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def items(self) -> list[dict[str, Any]]:
        """[{product_id, score}], best first."""
        return [
            {"product_id": product, "score": score}
            for product, score in zip(self.ranked["product_id"], self.ranked["score"], strict=True)
        ]


def ranked(products: list[str], scores: list[float]) -> dict[str, list[Any]]:
    """What `JobResult.ranked` stores for these products and their scores."""
    return {"product_id": products, "score": scores}


def ranked_documents(products: np.ndarray, scores: np.ndarray, lengths: np.ndarray) -> list[orjson.Fragment]:
    """What `JobResult.ranked` stores for each row of these (users × k) products and scores,
    the first `lengths[row]` of each, already serialised: the same JSON as `ranked`, written
    without building a Python list of scores for every user."""
    ids = products.tolist()
    rounded = np.round(scores.astype(np.float64), 6)
    dumps, numpy = orjson.dumps, orjson.OPT_SERIALIZE_NUMPY
    return [
        orjson.Fragment(dumps({"product_id": row[:length], "score": rounded[number, :length]}, option=numpy))
        for number, (row, length) in enumerate(zip(ids, lengths.tolist(), strict=True))
    ]
