"""Seed 001 (SmartCommerce): interactions, streaming events and dataset upload."""

from typing import Annotated, Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from relevo.api.deps import EventWriterDep, SettingsDep, WriterCaller
from relevo.datasets.router import upload_dataset
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


# Seed 001's dataset upload is the datasets API's upload under another path.
router.add_api_route(
    "/upload-dataset/",
    upload_dataset,
    methods=["POST"],
    response_model=DatasetRead,
    status_code=status.HTTP_201_CREATED,
    summary="Upload Dataset (seed 001)",
)
