"""Response bodies of the recommendations API."""

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from relevo.recommend.answer import Recommendation, RecommendationList, Way
from relevo.recommend.catalog_view import ProductView
from relevo.recommend.explanation import Explanation
from relevo.recommend.reasons import reason


class ShownProduct(BaseModel):
    """A product as answers show it."""

    product_id: str
    name: str | None
    category: str | None
    price: Decimal | None
    currency: str | None

    @staticmethod
    def fields_of(product: ProductView) -> dict:
        return product._asdict()


class RecommendedProduct(ShownProduct):
    score: float
    confidence: float = Field(description="0..1: the score relative to the list's best")

    @classmethod
    def of(cls, item: Recommendation) -> "RecommendedProduct":
        return cls(**cls.fields_of(item.product), score=round(item.score, 6), confidence=item.confidence)


class RecommendedForUser(RecommendedProduct):
    reason: str = Field(
        description='Why, in words a shop can show its shopper ("bought together with P000123", "like P000456 '
        'you viewed", "popular in Electronics"): from the part of the model that gave the item most of its score'
    )

    @classmethod
    def of_answer(cls, item: Recommendation, answer: RecommendationList) -> "RecommendedForUser":
        return cls(**RecommendedProduct.of(item).model_dump(), reason=reason(item, answer.way, answer.bought))


class ServedModelRead(BaseModel):
    name: str
    version: int
    algorithm: str

    @classmethod
    def of(cls, answer: RecommendationList) -> "ServedModelRead":
        return cls(name=answer.version.name, version=answer.version.version, algorithm=answer.algorithm)


class ExperimentServed(BaseModel):
    id: str
    variant: str


class UserRecommendations(BaseModel):
    user_id: str
    recommendation_id: str = Field(description="Send it back with clicks and purchases (event recommendation_id)")
    model: ServedModelRead
    items: list[RecommendedForUser]
    experiment: ExperimentServed | None = Field(
        default=None, description="The experiment and variant that served the answer; absent outside one"
    )

    @model_serializer(mode="wrap")
    def _without_no_experiment(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        shown = handler(self)
        if shown.get("experiment") is None:
            shown.pop("experiment", None)
        return shown

    @classmethod
    def of(cls, answer: RecommendationList) -> "UserRecommendations":
        served_in = (
            None
            if answer.experiment is None
            else ExperimentServed(id=answer.experiment[0], variant=answer.experiment[1])
        )
        return cls(
            user_id=answer.user_id,
            recommendation_id=answer.recommendation_id,
            model=ServedModelRead.of(answer),
            items=[RecommendedForUser.of_answer(item, answer) for item in answer.items],
            experiment=served_in,
        )


class PopularProduct(ShownProduct):
    users: int = Field(description="How many users interacted with it in the window")

    @classmethod
    def of(cls, product: ProductView, users: int) -> "PopularProduct":
        return cls(**cls.fields_of(product), users=users)


class ItemExplained(RecommendedForUser):
    component: str | None = Field(description="The part of the model that gave the item most of its score")
    source: str | None = Field(description="The shopper's own product behind that part")
    parts: dict[str, float] | None = Field(
        description="The item's score from each part of the model (they add up to the score); null when the "
        "item was not among the candidates a scoring anew would consider"
    )


class AnsweredBy(BaseModel):
    way: Way = Field(
        description="ranked_ahead: the shopper's list ranked at training, filtered; ranked_anew: the model "
        "ranking for this request; cold_start: a shopper the model never saw, with no events yet"
    )
    why: str
    kept_answer: bool = Field(description="The same question was answered lately and that answer was given again")


class EventSince(BaseModel):
    event_id: int
    product_id: str
    event_type: str
    value: float | None


class HistoryUsed(BaseModel):
    events_in_training: int = Field(description="The shopper's events the version learned from")
    products_in_training: int = Field(description="Products in the shopper's history as the version learned it")
    events_since_training: list[EventSince] = Field(description="Added to that history for this answer, oldest first")
    newest: EventSince | None


class FilterEffect(BaseModel):
    filter: str
    value: str | float | int | bool | None
    removed: int = Field(description="How many of the model's products on sale this filter alone leaves out")


class RecommendationExplanation(BaseModel):
    user_id: str
    model: ServedModelRead
    watermark: int = Field(description="The last event the version learned from")
    answered_by: AnsweredBy
    history: HistoryUsed
    filters: list[FilterEffect]
    items: list[ItemExplained]

    @classmethod
    def of(cls, explained: Explanation) -> "RecommendationExplanation":
        answer = explained.answer
        since = [EventSince(event_id=i, product_id=p, event_type=t, value=v) for i, p, t, v in explained.events_since]
        return cls(
            user_id=answer.user_id,
            model=ServedModelRead.of(answer),
            watermark=answer.version.watermark,
            answered_by=AnsweredBy(way=answer.way, why=answer.why, kept_answer=answer.kept),
            history=HistoryUsed(
                events_in_training=explained.events_in_training,
                products_in_training=explained.products_in_training,
                events_since_training=since,
                newest=since[-1] if since else None,
            ),
            filters=[FilterEffect(filter=name, value=value, removed=count) for name, value, count in explained.removed],
            items=[
                ItemExplained(
                    **RecommendedForUser.of_answer(item, answer).model_dump(),
                    component=item.component,
                    source=item.source,
                    parts=parts,
                )
                for item, parts in zip(answer.items, explained.parts, strict=True)
            ],
        )
