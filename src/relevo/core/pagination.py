"""Keyset pagination shared by the list endpoints: a page of items and the cursor to the next."""

from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from relevo.core.errors import InvalidArgument
from relevo.core.fields import MAX_DB_INT

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def paginate_by_id(
    session: Session, query: Select, id_column: InstrumentedAttribute, *, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """Newest first: rows with ids below the cursor, and the cursor for the page after them.

    A query of several entities pages by the first one's id.
    """
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > MAX_DB_INT:
            raise InvalidArgument("cursor: must be the next_cursor value of an earlier page")
        query = query.where(id_column < int(cursor))
    result = session.execute(query.order_by(id_column.desc()).limit(limit + 1))
    # An entity selects all its columns; count the entities, not the columns.
    single_entity = len(query.column_descriptions) == 1
    rows = list(result.scalars() if single_entity else result)
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1] if single_entity else rows[-1][0]
    return rows, str(getattr(last, id_column.key))
