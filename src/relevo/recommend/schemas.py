"""Response bodies of the recommendations API."""

from decimal import Decimal

from pydantic import BaseModel, Field

from relevo.recommend.service import Recommendation


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


class PopularProduct(BaseModel):
    product_id: str
    name: str | None
    category: str | None
    price: Decimal | None
    currency: str | None
    users: int = Field(description="How many users interacted with it in the window")
