"""Routes of the datasets API: upload a CSV, list and read past imports."""

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile, status

from relevo.api.deps import CurrentCaller, LimitedRoute, ReaderCaller, SessionDep, SettingsDep
from relevo.core.fields import DbId
from relevo.core.pagination import Page
from relevo.datasets import service
from relevo.datasets.models import DatasetType
from relevo.datasets.schemas import DatasetRead

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"], route_class=LimitedRoute)

UploadedFile = Annotated[UploadFile, File(description="A CSV file with a header row")]
DatasetTypeForm = Annotated[DatasetType, Form(description="interactions, items or users")]
_ALLOW_DUPLICATE = "Import an interactions file again although the same file was imported before (its events twice)"
# As a form field or in the query string: clients of the SmartCommerce API's upload send only the file's form.
AllowDuplicateForm = Annotated[bool, Form(alias="allow_duplicate", description=_ALLOW_DUPLICATE)]
AllowDuplicateQuery = Annotated[bool, Query(alias="allow_duplicate", description=_ALLOW_DUPLICATE)]


@router.post("", response_model=DatasetRead, status_code=status.HTTP_201_CREATED)
def upload_dataset(
    file: UploadedFile,
    dataset_type: DatasetTypeForm,
    caller: CurrentCaller,
    session: SessionDep,
    settings: SettingsDep,
    allow_duplicate_form: AllowDuplicateForm = False,
    allow_duplicate_query: AllowDuplicateQuery = False,
) -> DatasetRead:
    """Interactions and users need the scope events:write, items catalog:write; items of
    products the caller may not write are refused by line. An interactions file imported
    before is refused (409, naming that import) unless `allow_duplicate` is true."""
    dataset = service.import_csv(
        session=session,
        dataset_type=dataset_type,
        stream=file.file,
        filename=file.filename or "",
        caller=caller,
        currencies=settings.currency_rates.keys(),
        allow_duplicate=allow_duplicate_form or allow_duplicate_query,
    )
    return DatasetRead.from_model(dataset)


@router.get("", response_model=Page[DatasetRead])
def list_datasets(
    caller: ReaderCaller,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page:
    datasets, next_cursor = service.list_datasets(session=session, caller=caller, limit=limit, cursor=cursor)
    return Page(items=[DatasetRead.from_model(dataset) for dataset in datasets], next_cursor=next_cursor)


@router.get("/{dataset_id}", response_model=DatasetRead)
def read_dataset(dataset_id: DbId, caller: ReaderCaller, session: SessionDep) -> DatasetRead:
    return DatasetRead.from_model(service.get_or_raise(session=session, caller=caller, dataset_id=dataset_id))
