"""The SmartCommerce API: recommendations, interactions, streaming events, dataset upload,
training, model metrics and performance metrics."""

import dataclasses
from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from pydantic import BaseModel, Field, PlainValidator, TypeAdapter
from pydantic_core import PydanticCustomError

from relevo.api.deps import (
    EventSender,
    EventWriterDep,
    ExecutorDep,
    LimitedRoute,
    ModelManager,
    ReaderCaller,
    SessionDep,
    SettingsDep,
    read_route,
)
from relevo.core.db import utcnow
from relevo.core.fields import MAX_DB_INT, DbId, DbInt, JsonObject
from relevo.datasets.router import upload_dataset
from relevo.datasets.schemas import DatasetRead
from relevo.engine.algorithms import ALGORITHMS
from relevo.engine.base import Recommender
from relevo.events.schemas import EventIn, EventTypeName
from relevo.experiments import router as experiments_router
from relevo.experiments import service as experiments_service
from relevo.experiments.schemas import ExperimentCreate, ExperimentRead
from relevo.performance import service as performance_service
from relevo.performance.router import RecordedSoFar
from relevo.recommend.answer import UserRequest
from relevo.recommend.in_experiments import served
from relevo.registry import service as registry_service
from relevo.registry.schemas import ModelVersionRead, TrainingStarted

router = APIRouter(prefix="/api", tags=["SmartCommerce API"], route_class=LimitedRoute)

_TextId = Annotated[str, Field(min_length=1, max_length=255)]
_INTEGER_ID = TypeAdapter(DbInt)
_TEXT_ID = TypeAdapter(_TextId)


def _shop_id(value: Any) -> int | str:
    # Told apart by type, so that an error names the field once, with the problem of what was
    # sent (`user_id: Input should be a valid integer, got a number with a fractional part`),
    # not once per type the id might have had.
    if isinstance(value, str):
        return _TEXT_ID.validate_python(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _INTEGER_ID.validate_python(value)
    raise PydanticCustomError("shop_id_type", "Input should be an integer or a string")


ShopId = Annotated[
    int | str,
    PlainValidator(_shop_id, json_schema_input_type=DbInt | _TextId),
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
    context: JsonObject = Field(default_factory=dict)
    event_id: str | None = Field(default=None, min_length=1, max_length=255)


class StreamingEventProcessed(BaseModel):
    status: str = "processed"
    user_id: int | str
    product_id: int | str
    event_type: str
    session_id: str | None
    stored: bool


def as_smartcommerce_id(value: str) -> int | str:
    """The SmartCommerce API shows integer ids: ids that are plain (64-bit) integers go back as integers."""
    if value.isascii() and value.isdigit() and str(int(value)) == value and int(value) <= MAX_DB_INT:
        return int(value)
    return value


class SmartCommerceRecommendation(BaseModel):
    product_id: int | str
    product_name: str | None
    category: str | None
    price: float | None
    confidence_score: float
    algorithm: str


class SmartCommerceRecommendations(BaseModel):
    user_id: int | str
    recommendations: list[SmartCommerceRecommendation]
    count: int


@read_route(router, "/recommendations/{user_id}/", response_model=SmartCommerceRecommendations)
async def personalized_recommendations(
    request: Request, user_id: str, count: Annotated[int, Query(ge=1, le=200)] = 10
) -> Response:
    result = await served(request, UserRequest(user_id, count), route="smartcommerce")
    algorithm = "hybrid_ensemble" if result.algorithm == "hybrid" else result.algorithm
    items = [
        {
            "product_id": as_smartcommerce_id(item.product.product_id),
            "product_name": item.product.name,
            "category": item.product.category,
            "price": None if item.product.price is None else float(item.product.price),
            "confidence_score": item.confidence,
            "algorithm": algorithm,
        }
        for item in result.items
    ]
    # The busiest route: written out directly (the shape is SmartCommerceRecommendations, as
    # documented), not built as models for FastAPI to check and serialise again.
    answer = {"user_id": as_smartcommerce_id(user_id), "recommendations": items, "count": len(items)}
    return Response(orjson.dumps(answer), media_type="application/json")


@router.post("/interaction/", response_model=InteractionRecorded, status_code=status.HTTP_201_CREATED)
async def record_interaction(
    body: InteractionIn, _: EventSender, writer: EventWriterDep, settings: SettingsDep
) -> InteractionRecorded:
    event = EventIn(
        user_id=body.user_id,
        product_id=body.product_id,
        event_type=body.interaction_type,
        value=body.value,
        event_id=body.event_id,
        recommendation_id=body.recommendation_id,
    )
    result = await writer.ingest([event], source="smartcommerce", max_batch=settings.max_event_batch)
    return InteractionRecorded(
        user_id=body.user_id, product_id=body.product_id, interaction_type=event.event_type, stored=result.stored == 1
    )


@router.post("/streaming-event/", response_model=StreamingEventProcessed, status_code=status.HTTP_201_CREATED)
async def process_streaming_event(
    body: StreamingEventIn, _: EventSender, writer: EventWriterDep, settings: SettingsDep
) -> StreamingEventProcessed:
    event = EventIn.model_validate(body.model_dump())
    result = await writer.ingest([event], source="smartcommerce", max_batch=settings.max_event_batch)
    return StreamingEventProcessed(
        user_id=body.user_id,
        product_id=body.product_id,
        event_type=event.event_type,
        session_id=body.session_id,
        stored=result.stored == 1,
    )


# The SmartCommerce API's dataset upload is the datasets API's upload under another path.
router.add_api_route(
    "/upload-dataset/",
    upload_dataset,
    methods=["POST"],
    response_model=DatasetRead,
    status_code=status.HTTP_201_CREATED,
    summary="Upload Dataset (SmartCommerce API)",
)


class EnhancedTrainConfig(BaseModel):
    embedding_dim: int | None = Field(default=None, ge=2, le=1024)
    learning_rate: float | None = Field(default=None, gt=0, le=1)
    epochs: int | None = Field(default=None, ge=1, le=1000)


class EnhancedTrainRequest(BaseModel):
    dataset_ids: list[DbId] = Field(default_factory=list)
    config: EnhancedTrainConfig = Field(default_factory=EnhancedTrainConfig)
    algorithm: str = "hybrid"


# The hybrid's BPR part, when the SmartCommerce API's training asks for a learning rate.
BPR_WEIGHT = 0.25


def factor_settings(algorithm: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The SmartCommerce API's training settings (embedding_dim, learning_rate, epochs) as the
    algorithm's config: each goes to the models that have it (ALS has no learning rate), inside
    a hybrid to its matrix-factorisation components; a learning rate brings the hybrid's BPR
    part in (left out by default), so that it is used."""
    if not settings or algorithm not in ALGORITHMS:
        return settings  # an unknown algorithm is refused when training starts

    def applicable(cls: type[Recommender]) -> dict[str, Any]:
        names = {field.name for field in dataclasses.fields(cls.Config)}
        return {name: value for name, value in settings.items() if name in names}

    if algorithm != "hybrid":
        return applicable(ALGORITHMS[algorithm])
    config: dict[str, Any] = {"components": {name: applicable(ALGORITHMS[name]) for name in ("als", "bpr")}}
    if "learning_rate" in settings:
        config["weights"] = {"bpr": BPR_WEIGHT}
    return config


@router.post("/enhanced-train/", response_model=TrainingStarted, status_code=status.HTTP_202_ACCEPTED)
def enhanced_train(
    body: EnhancedTrainRequest,
    caller: ModelManager,
    session: SessionDep,
    settings: SettingsDep,
    executor: ExecutorDep,
    tasks: BackgroundTasks,
) -> TrainingStarted:
    config = factor_settings(body.algorithm, body.config.model_dump(exclude_none=True))
    params = {"dataset_ids": body.dataset_ids, "deploy": "gate", "evaluation": "random", "seed": 0}
    version, job = registry_service.start_training(
        session=session,
        settings=settings,
        name=settings.serving_model,
        algorithm=body.algorithm,
        config=config,
        params=params,
        created_by=caller.id,
    )
    tasks.add_task(executor.submit, job.id)
    return TrainingStarted(
        job_id=job.id, status=job.status, name=version.name, version=version.version, algorithm=version.algorithm
    )


@router.post("/ab-test/create/", response_model=ExperimentRead, status_code=status.HTTP_201_CREATED)
def create_ab_test(
    body: ExperimentCreate,
    caller: ModelManager,
    session: SessionDep,
    settings: SettingsDep,
    executor: ExecutorDep,
    tasks: BackgroundTasks,
) -> ExperimentRead:
    """The experiment, started when every variant can be served (it then runs between its
    dates); otherwise a draft whose `blockers` say which variant cannot be served and why."""
    experiment = experiments_service.create(session=session, settings=settings, data=body, created_by=caller.id)
    experiment, jobs = experiments_service.start_if_servable(
        session=session, settings=settings, experiment=experiment, created_by=caller.id
    )
    for job in jobs:
        tasks.add_task(executor.submit, job.id)
    return experiments_router.read(session, settings, experiment)


@router.get("/model-metrics/", response_model=ModelVersionRead)
def model_metrics(_: ReaderCaller, session: SessionDep, settings: SettingsDep) -> ModelVersionRead:
    """The deployed model's offline metrics (on held-out events) and training figures."""
    return ModelVersionRead.from_model(registry_service.deployed_or_raise(session=session, name=settings.serving_model))


class PerformanceFigures(BaseModel):
    total_requests: int = Field(description="Requests answered in the last 24 hours (not probes, not /metrics)")
    average_latency_ms: float = Field(description="Their average time to answer")
    cache_hit_rate: float = Field(description="The share of their answers to a person kept from an earlier request")
    active_users: int = Field(description="Shoppers served recommendations in the last 24 hours")


class RealtimeFigures(BaseModel):
    recommendations_served_last_hour: int = Field(description="Answers served to a person in the last hour")
    clicks_last_hour: int = Field(description="Clicks attributed to those answers")
    ctr_last_hour: float = Field(description="clicks_last_hour / recommendations_served_last_hour")


class DailyFigures(BaseModel):
    recommendations_served: int = Field(description="Answers served to a person in the last 24 hours")
    recommendation_clicks: int = Field(description="Clicks attributed to those answers")
    click_through_rate: float = Field(description="recommendation_clicks / recommendations_served")


class PerformanceMetrics(BaseModel):
    performance: PerformanceFigures
    realtime: RealtimeFigures
    daily: DailyFigures

    @classmethod
    def of(cls, figures: performance_service.CurrentFigures) -> "PerformanceMetrics":
        return cls(
            performance=PerformanceFigures(
                total_requests=figures.total_requests,
                average_latency_ms=figures.average_latency_ms,
                cache_hit_rate=figures.cache_hit_rate,
                active_users=figures.active_users,
            ),
            realtime=RealtimeFigures(
                recommendations_served_last_hour=figures.served_last_hour,
                clicks_last_hour=figures.clicks_last_hour,
                ctr_last_hour=figures.clicks_last_hour / figures.served_last_hour if figures.served_last_hour else 0.0,
            ),
            daily=DailyFigures(
                recommendations_served=figures.served_last_day,
                recommendation_clicks=figures.clicks_last_day,
                click_through_rate=figures.clicks_last_day / figures.served_last_day
                if figures.served_last_day
                else 0.0,
            ),
        )


@router.get("/performance-metrics/", response_model=PerformanceMetrics)
def performance_metrics(
    _: ReaderCaller, __: RecordedSoFar, session: SessionDep, settings: SettingsDep
) -> PerformanceMetrics:
    """What the shop's recommendations did lately, from every server process (docs/api.md
    defines each figure)."""
    attribution = timedelta(hours=settings.attribution_hours)
    return PerformanceMetrics.of(performance_service.current(session=session, now=utcnow(), attribution=attribution))
