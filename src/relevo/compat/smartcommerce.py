"""Seed 001 (SmartCommerce): interactions, streaming events and dataset upload."""

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile, status
from pydantic import BaseModel, Field

from relevo.api.deps import EventWriterDep, SessionDep, SettingsDep, WriterCaller
from relevo.datasets import service as datasets_service
from relevo.datasets.models import DatasetType
from relevo.datasets.schemas import DatasetRead
from relevo.events.schemas import EventIn, EventTypeName

router = APIRouter(prefix="/api", tags=["seed 001: SmartCommerce"])

ShopId = Annotated[
    int | Annotated[str, Field(min_length=1, max_length=255)],
    Field(description="Integer ids are echoed back as integers"),
]


class InteractionIn(BaseModel):
    user_id: ShopId
    product_id: ShopId
    interaction_type: EventTypeName = "view"
    value: float | None = Field(default=None, allow_inf_nan=False)
    event_id: str | None = Field(default=None, min_length=1, max_length=255)
    recommendation_id: str | None = Field(default=None, max_length=64)


class InteractionRecorded(BaseModel):
    status: str = "success"
    message: str = "Interaction recorded"
    user_id: int | str
    product_id: int | str
    interaction_type: str
    stored: bool


class StreamingEventIn(BaseModel):
    user_id: ShopId
    product_id: ShopId
    event_type: EventTypeName
    session_id: str | None = Field(default=None, max_length=255)
    device_type: str | None = Field(default=None, max_length=32)
    context: dict[str, Any] = Field(default_factory=dict)
    event_id: str | None = Field(default=None, min_length=1, max_length=255)


class StreamingEventProcessed(BaseModel):
    status: str = "processed"
    user_id: int | str
    product_id: int | str
    event_type: str
    session_id: str | None
    stored: bool


@router.post("/interaction/", response_model=InteractionRecorded, status_code=status.HTTP_201_CREATED)
async def record_interaction(
    body: InteractionIn, _: WriterCaller, writer: EventWriterDep, settings: SettingsDep
) -> InteractionRecorded:
    event = EventIn(
        user_id=body.user_id,
        product_id=body.product_id,
        event_type=body.interaction_type,
        value=body.value,
        event_id=body.event_id,
        recommendation_id=body.recommendation_id,
    )
    result = await writer.ingest([event], source="seed001", max_batch=settings.max_event_batch)
    return InteractionRecorded(
        user_id=body.user_id, product_id=body.product_id, interaction_type=event.event_type, stored=result.stored == 1
    )


@router.post("/streaming-event/", response_model=StreamingEventProcessed, status_code=status.HTTP_201_CREATED)
async def process_streaming_event(
    body: StreamingEventIn, _: WriterCaller, writer: EventWriterDep, settings: SettingsDep
) -> StreamingEventProcessed:
    event = EventIn.model_validate(body.model_dump())
    result = await writer.ingest([event], source="seed001", max_batch=settings.max_event_batch)
    return StreamingEventProcessed(
        user_id=body.user_id,
        product_id=body.product_id,
        event_type=event.event_type,
        session_id=body.session_id,
        stored=result.stored == 1,
    )


@router.post("/upload-dataset/", response_model=DatasetRead, status_code=status.HTTP_201_CREATED)
def upload_dataset(
    file: Annotated[UploadFile, File()],
    dataset_type: Annotated[DatasetType, Form()],
    caller: WriterCaller,
    session: SessionDep,
) -> DatasetRead:
    dataset = datasets_service.import_csv(
        session=session,
        dataset_type=dataset_type,
        stream=file.file,
        filename=file.filename or "",
        uploaded_by=caller.id,
    )
    return DatasetRead.from_model(dataset)
