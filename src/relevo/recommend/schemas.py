"""Response bodies of the recommendations API."""

from decimal import Decimal

from pydantic import BaseModel, Field

from relevo.recommend.catalog_view import ProductView
from relevo.recommend.service import Recommendation, RecommendationList


class RecommendedProduct(BaseModel):
    product_id: str
    name: str | None
    category: str | None
    price: Decimal | None
    currency: str | None
    score: float
    confidence: float = Field(description="0..1: the score relative to the list's best")

    @classmethod
    def of(cls, item: Recommendation) -> "RecommendedProduct":
        product = item.product
        return cls(
            product_id=product.product_id,
            name=product.name,
            category=product.category,
            price=product.price,
            currency=product.currency,
            score=round(item.score, 6),
            confidence=item.confidence,
        )


class ServedModelRead(BaseModel):
    name: str
    version: int
    algorithm: str


class UserRecommendations(BaseModel):
    user_id: str
    recommendation_id: str = Field(description="Send it back with clicks and purchases (event recommendation_id)")
    model: ServedModelRead
    items: list[RecommendedProduct]

    @classmethod
    def of(cls, answer: RecommendationList) -> "UserRecommendations":
        version = answer.version
        return cls(
            user_id=answer.user_id,
            recommendation_id=answer.recommendation_id,
            model=ServedModelRead(name=version.name, version=version.version, algorithm=answer.algorithm),
            items=[RecommendedProduct.of(item) for item in answer.items],
        )


class PopularProduct(BaseModel):
    product_id: str
    name: str | None
    category: str | None
    price: Decimal | None
    currency: str | None
    users: int = Field(description="How many users interacted with it in the window")

    @classmethod
    def of(cls, product: ProductView, users: int) -> "PopularProduct":
        return cls(
            product_id=product.product_id,
            name=product.name,
            category=product.category,
            price=product.price,
            currency=product.currency,
            users=users,
        )
