"""What the model and recommendation tests share: a small demo shop in the test database, and
training through the API."""

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from relevo.demo import DemoProduct, ShopSize
from relevo.events.service import EventRow

SIZE = ShopSize(stores=2, products=120, users=40, sessions=600, days=20, seed=11)
ALGORITHM = "hybrid"


@dataclass(frozen=True)
class DemoShop:
    """The demo shop as loaded: its products, which products complement which, its events."""

    products: list[DemoProduct]
    complements: dict[int, list[int]]
    events: list[EventRow]


def train(
    client: TestClient, headers: dict[str, str], name: str = "default", expect: str = "completed", **body: Any
) -> dict[str, Any]:
    """Trains a version through the API (jobs run within the request in tests) and returns
    it as GET /api/v1/models/{name}/versions/{version} shows it."""
    response = client.post(f"/api/v1/models/{name}/train", json={"algorithm": ALGORITHM, **body}, headers=headers)
    assert response.status_code == 202, response.text
    started = response.json()
    job = client.get(f"/api/v1/jobs/{started['job_id']}", headers=headers).json()
    assert job["status"] == expect, job
    version = client.get(f"/api/v1/models/{name}/versions/{started['version']}", headers=headers)
    assert version.status_code == 200, version.text
    return version.json()


def recommend(client: TestClient, user_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/recommendations/{user_id}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def product_ids(answer: dict[str, Any] | list[dict[str, Any]]) -> list[str]:
    items = answer["items"] if isinstance(answer, dict) else answer
    return [item["product_id"] for item in items]


def purchases_of(shop: DemoShop, user_id: str) -> set[str]:
    """What the user bought or rated in the demo shop."""
    return {e.product_id for e in shop.events if e.user_id == user_id and e.event_type in ("purchase", "rating")}


def most_active_user(shop: DemoShop) -> str:
    counts: dict[str, int] = {}
    for event in shop.events:
        counts[event.user_id] = counts.get(event.user_id, 0) + 1
    return max(counts, key=lambda user: (counts[user], user))


def top_category(category: str | None) -> str:
    return (category or "").split(" > ")[0]
