"""The record of each uploaded dataset and how its import went."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from relevo.core.db import Base, JsonDocument, utcnow
from relevo.datasets.types import DatasetType as DatasetType  # the package names it with its models


class DatasetStatus(StrEnum):
    importing = "importing"
    imported = "imported"
    failed = "failed"


# The imports a file's content may have only once: interactions (imported again, a file's
# events would count twice; items and users are upserts, the same either way), unless the
# import asked to repeat it, and only while that import is under way or done: a failed
# import stored nothing of its file, which may then come again.
IMPORTED_ONCE = "dataset_type = 'interactions' AND NOT allow_duplicate AND status IN ('importing', 'imported')"


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (
        # Checked by the database, so that two uploads of one file at the same moment cannot both land.
        Index(
            "uq_datasets_content_sha256",
            "content_sha256",
            unique=True,
            postgresql_where=text(IMPORTED_ONCE),
            sqlite_where=text(IMPORTED_ONCE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_type: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    content_sha256: Mapped[str | None] = mapped_column(String(64))  # of the file's bytes, as hex
    allow_duplicate: Mapped[bool] = mapped_column(default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default=DatasetStatus.importing)
    rows_imported: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    rows_duplicate: Mapped[int] = mapped_column(default=0)
    rejected_lines: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]

    @property
    def imported_once(self) -> bool:
        """Whether this import falls under IMPORTED_ONCE (in Python, for a row not stored yet)."""
        return (
            self.dataset_type == DatasetType.interactions
            and not self.allow_duplicate
            and self.status in (DatasetStatus.importing, DatasetStatus.imported)
        )
