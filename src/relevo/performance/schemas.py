"""Response bodies of the online metrics route."""

from pydantic import BaseModel, Field

from relevo.core.fields import UtcDateTime
from relevo.performance.series import Point, Rate
from relevo.performance.service import OnlineMetrics
from relevo.performance.traffic import Traffic


class RateRead(BaseModel):
    value: float
    low: float | None = Field(description="The 95% interval's bounds (null with fewer than two users)")
    high: float | None

    @classmethod
    def of(cls, rate: Rate | None) -> "RateRead | None":
        return None if rate is None else cls(value=rate.value, low=rate.low, high=rate.high)


class PointRead(BaseModel):
    exposures: int = Field(description="Answers served to a person")
    users: int = Field(description="Shoppers they were served to")
    clicks: int = Field(description="Clicks attributed to them")
    add_to_carts: int
    purchases: int
    revenue: float = Field(description="The attributed purchases' values (the product's price when none)")
    click_through_rate: RateRead | None = Field(description="Clicks per exposure (null: no exposure)")
    conversion_rate: RateRead | None = Field(description="Purchases per exposure (null: no exposure)")
    cache_hit_rate: float | None = Field(description="The share of answers kept from an earlier request")
    fallback_share: float | None = Field(description="The share of answers that fell back (cold start, popular)")
    catalog_coverage: float | None = Field(description="The share of the products offered shown at least once")

    @staticmethod
    def fields_of(point: Point) -> dict:
        return {
            **point.__dict__,
            "click_through_rate": RateRead.of(point.click_through_rate),
            "conversion_rate": RateRead.of(point.conversion_rate),
        }


class BucketPointRead(PointRead):
    start: UtcDateTime


class SeriesRead(BaseModel):
    model: str | None = Field(description="The model that answered (null: none, what is popular)")
    model_version: int | None
    experiment_id: str | None = Field(description="null: answers outside any experiment")
    variant: str | None
    total: PointRead = Field(description="Over the whole range")
    points: list[BucketPointRead]


class TrafficRead(BaseModel):
    requests: int
    errors: int = Field(description="Requests answered 5xx")
    average_ms: float | None
    p50_ms: float | None = Field(description="From the latency buckets merged over the minutes and processes")
    p95_ms: float | None
    p99_ms: float | None
    answers: int = Field(description="Requests that served a person recommendations")
    cache_hit_rate: float | None = Field(description="The share of those answers kept from an earlier request")


class BucketTrafficRead(TrafficRead):
    start: UtcDateTime


class RouteSeriesRead(BaseModel):
    route: str = Field(description='The method and route template, e.g. "GET /api/v1/recommendations/{user_id}"')
    total: TrafficRead
    points: list[BucketTrafficRead]


class OnlineMetricsRead(BaseModel):
    from_: UtcDateTime = Field(serialization_alias="from")
    to: UtcDateTime
    bucket: str
    model: str | None
    variant: str | None
    attribution_hours: float
    catalog_products: int = Field(description="Products offered now: what coverage is a share of")
    series: list[SeriesRead] = Field(description="Per model version and experiment variant")
    routes: list[RouteSeriesRead] = Field(description="Per route (every answer, whatever its model or variant)")

    @classmethod
    def of(cls, metrics: OnlineMetrics) -> "OnlineMetricsRead":
        query = metrics.query
        return cls(
            from_=query.start,
            to=query.end,
            bucket=query.bucket,
            model=query.model,
            variant=query.variant,
            attribution_hours=metrics.attribution.total_seconds() / 3600,
            catalog_products=metrics.catalog_products,
            series=[
                SeriesRead(
                    **series.key._asdict(),
                    total=PointRead(**PointRead.fields_of(series.total)),
                    points=[
                        BucketPointRead(start=start, **PointRead.fields_of(point)) for start, point in series.points
                    ],
                )
                for series in metrics.series
            ],
            routes=[
                RouteSeriesRead(
                    route=route.route,
                    total=TrafficRead(**_traffic(route.total)),
                    points=[BucketTrafficRead(start=start, **_traffic(found)) for start, found in route.points],
                )
                for route in metrics.routes
            ],
        )


def _traffic(traffic: Traffic) -> dict:
    return traffic.__dict__
