"""The short reason an answer gives for each item, which a shop can show its shopper ("bought
together with P000123", "like P000456 you viewed", "popular in Electronics"). It is drawn from
what produced the item: the model's part that gave it most of its score, and the shopper's own
product behind that part (engine/explain.py), never made up afterwards."""

from collections.abc import Collection

from relevo.recommend.answer import Recommendation, Way

# What a part says when none of the shopper's products stands behind it.
_WITHOUT_A_PRODUCT = {
    "als": "picked for your taste",
    "bpr": "picked for your taste",
    "ease": "picked for your taste",
    "factors": "picked for your taste",
    "item_knn": "liked by shoppers who like what you like",
    "content": "like what you browse",
}


def reason(item: Recommendation, way: Way, bought: Collection[str]) -> str:
    """`bought`: the shopper's products bought or rated (the others they only looked at)."""
    source, part = item.source, item.component
    if source is not None and part == "cooccurrence":
        return f"bought together with {source}"
    if source is not None:
        return f"like {source} you {'bought' if source in bought else 'viewed'}"
    if way is Way.cold_start or part in ("popular", "cooccurrence"):  # co-purchase fills up with what sells
        category = (item.product.category or "").split(">")[0].strip()
        return f"popular in {category}" if category else "popular"
    return _WITHOUT_A_PRODUCT.get(part or "", "picked for you")
