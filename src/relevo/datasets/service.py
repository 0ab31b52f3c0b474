"""Dataset imports: a CSV stream is read once, each row validated, good rows stored in bulk,
bad rows counted and the first of them reported by line with the reason. An interactions
file already imported is refused, unless the import asks to repeat it."""

import csv
import hashlib
import io
from collections.abc import Callable, Collection, Iterator
from pathlib import PurePath
from typing import BinaryIO

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from relevo.accounts.callers import Caller
from relevo.accounts.scopes import Scope
from relevo.catalog import service as catalog_service
from relevo.core.db import utcnow
from relevo.core.errors import AlreadyExists, InvalidArgument, NotFound
from relevo.core.pagination import paginate_by_id
from relevo.datasets.models import IMPORTED_ONCE, Dataset, DatasetStatus, DatasetType
from relevo.datasets.rows import Header, RowRejected, interaction_parser, item_parser, user_parser
from relevo.events import service as events_service
from relevo.storage import bulk
from relevo.users import service as users_service

REPORTED_REJECTIONS = 100
_PROGRESS_EVERY = 20_000

Progress = Callable[[int], None]  # called with the number of bytes read so far

# What importing each type of file writes, and so the scope it needs.
SCOPE_NEEDED = {
    DatasetType.interactions: Scope.events_write,
    DatasetType.users: Scope.events_write,
    DatasetType.items: Scope.catalog_write,
}


def get_or_raise(*, session: Session, caller: Caller, dataset_id: int) -> Dataset:
    """A dataset the caller uploaded (admins: any)."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or not caller.owns(dataset.uploaded_by):
        raise NotFound(f"dataset {dataset_id} does not exist")
    return dataset


def missing(*, session: Session, dataset_ids: Collection[int]) -> list[int]:
    """Those of `dataset_ids` that name no dataset, in order."""
    found = set(session.scalars(select(Dataset.id).where(Dataset.id.in_(set(dataset_ids)))))
    return sorted(set(dataset_ids) - found)


def list_datasets(
    *, session: Session, caller: Caller, limit: int, cursor: str | None
) -> tuple[list[Dataset], str | None]:
    query = select(Dataset)
    if not caller.sees_everything:
        query = query.where(Dataset.uploaded_by == caller.id)
    return paginate_by_id(session, query, Dataset.id, limit=limit, cursor=cursor)


def import_csv(
    *,
    session: Session,
    dataset_type: DatasetType,
    stream: BinaryIO,
    filename: str,
    caller: Caller | None,
    currencies: Collection[str] | None = None,
    progress: Progress | None = None,
    allow_duplicate: bool = False,
) -> Dataset:
    """Imports a CSV file (a seekable stream) for `caller` (None: an operator at the command
    line, who writes everything). A header problem or unreadable file is refused as a whole
    (400); problems in single rows only reject those rows, and so do products the caller may
    not write. An interactions file imported before (the same bytes) is refused (409) unless
    `allow_duplicate`. `currencies`: the codes item prices may be in (those the rate table
    converts)."""
    if caller is not None:
        caller.require(SCOPE_NEEDED[dataset_type])
    dataset = Dataset(
        dataset_type=dataset_type,
        filename=_safe_name(filename),
        content_sha256=_sha256(stream),
        allow_duplicate=allow_duplicate,
        status=DatasetStatus.importing,
        uploaded_by=caller.id if caller is not None else None,
    )
    _add_unless_imported(session, dataset)
    reader = _CsvReader(stream, progress)
    header = Header(reader.header(), dataset_type)
    with bulk.gc_paused():
        if dataset_type == DatasetType.interactions:
            rows = reader.rows(interaction_parser(header, utcnow()))
            stored = events_service.store_rows(session=session, rows=rows, dataset_id=dataset.id)
            dataset.rows_duplicate = reader.accepted - stored
        elif dataset_type == DatasetType.items:
            _import_items(session, reader, header, caller, currencies)
        else:
            latest = {row[0]: row for row in reader.rows(user_parser(header))}
            users_service.upsert_rows(session=session, rows=latest.values())
    dataset.rows_imported = reader.accepted - dataset.rows_duplicate
    dataset.rows_rejected = reader.rejected
    dataset.rejected_lines = sorted(reader.rejections, key=lambda rejection: rejection["line"])
    dataset.status = DatasetStatus.imported
    dataset.completed_at = utcnow()
    session.flush()
    return dataset


def _add_unless_imported(session: Session, dataset: Dataset) -> None:
    """Adds the dataset's row, unless its file was imported already and may be only once
    (models.IMPORTED_ONCE). The unique index decides: an import of the same file under way
    in another transaction makes this one wait for it, then fail here if it committed."""
    if dataset.imported_once and (earlier := _earlier_import(session, dataset.content_sha256)) is not None:
        raise _already_imported(earlier)
    try:
        with session.begin_nested():
            session.add(dataset)
            session.flush()
    except IntegrityError:
        if dataset.imported_once and (earlier := _earlier_import(session, dataset.content_sha256)) is not None:
            raise _already_imported(earlier) from None
        raise


def _earlier_import(session: Session, content_sha256: str | None) -> Dataset | None:
    """The import of this file that holds it (there is at most one: the unique index)."""
    return session.scalar(select(Dataset).where(Dataset.content_sha256 == content_sha256, text(IMPORTED_ONCE)))


def _already_imported(earlier: Dataset) -> AlreadyExists:
    when = earlier.created_at.isoformat(timespec="seconds") + "Z"
    return AlreadyExists(
        f"file: the same file (SHA-256 {earlier.content_sha256}) was imported as dataset {earlier.id} at "
        f"{when}; importing it again would store its events twice. To do so all the same, send "
        "allow_duplicate=true (relevo import: --allow-duplicate)"
    )


def _sha256(stream: BinaryIO) -> str:
    """The SHA-256 of the stream's bytes from where it stands, which it is left at again."""
    start = stream.tell()
    digest = hashlib.file_digest(stream, "sha256").hexdigest()
    stream.seek(start)
    return digest


def _import_items(
    session: Session, reader: "_CsvReader", header: Header, caller: Caller | None, currencies: Collection[str] | None
) -> None:
    access = catalog_service.access_for(session=session, caller=caller)
    parse = item_parser(header, catalog_service.store_ids(session=session), currencies)
    # Last row wins for a product named twice; one upsert may touch a row only once.
    latest: dict[str, tuple] = {}
    lines: dict[str, list[int]] = {}
    for line, row in reader.numbered_rows(parse):
        latest[row[0]] = row
        lines.setdefault(row[0], []).append(line)
    writable, refused = catalog_service.writable_rows(session=session, access=access, rows=latest)
    for product_id, reason in refused.items():
        for line in lines[product_id]:
            reader.refuse(line, reason)
    catalog_service.upsert_rows(session=session, rows=writable)


class _CsvReader:
    """Reads CSV rows once, counting accepted and rejected rows as they stream past."""

    def __init__(self, stream: BinaryIO, progress: Progress | None) -> None:
        self._stream = stream
        self._progress = progress
        self._reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""))
        self.accepted = 0
        self.rejected = 0
        self.rejections: list[dict[str, object]] = []

    def header(self) -> list[str]:
        try:
            fields = next(self._reader, None)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise self._unreadable(exc) from None
        if fields is None:
            raise InvalidArgument("file: is empty; the first line must be a header row")
        return fields

    def rows(self, parse: Callable[[list[str]], object]) -> Iterator:
        """Parsed rows; rejected ones are counted and reported by the line they start on (a
        quoted field may span lines)."""
        return (row for _, row in self.numbered_rows(parse))

    def numbered_rows(self, parse: Callable[[list[str]], object]) -> Iterator[tuple[int, object]]:
        """Parsed rows with the line each starts on."""
        reader, progress = self._reader, self._progress
        start = reader.line_num + 1
        try:
            for fields in reader:
                line, start = start, reader.line_num + 1
                if not fields:
                    continue
                try:
                    row = parse(fields)
                except RowRejected as exc:
                    self._reject(line, str(exc))
                    continue
                self.accepted += 1
                if progress is not None and self.accepted % _PROGRESS_EVERY == 0:
                    progress(self._stream.tell())
                yield line, row
        except (UnicodeDecodeError, csv.Error) as exc:
            raise self._unreadable(exc) from None
        if progress is not None:
            progress(self._stream.tell())

    def refuse(self, line: int, reason: str) -> None:
        """A row accepted when read, refused afterwards (the caller may not write it)."""
        self.accepted -= 1
        self._reject(line, reason)

    def _reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < REPORTED_REJECTIONS:
            self.rejections.append({"line": line, "reason": reason})

    def _unreadable(self, error: Exception) -> InvalidArgument:
        if isinstance(error, UnicodeDecodeError):
            return InvalidArgument(f"file: is not UTF-8 text (near line {self._reader.line_num + 1})")
        return InvalidArgument(f"file: line {self._reader.line_num}: {error}")


def _safe_name(filename: str) -> str:
    """Only the file's own name is kept, for display; it never becomes a path."""
    name = PurePath(filename.replace("\\", "/")).name.strip()
    return name[:255] or "upload.csv"
