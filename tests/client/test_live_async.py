"""The async client against a real `relevo serve`: each resource once, concurrently where it can."""

import asyncio

import pytest

from relevo.client import AsyncClient, NotFound
from tests.client.conftest import LiveServer

pytestmark = pytest.mark.integration


def test_every_resource_through_the_async_client(live_server: LiveServer) -> None:
    async def scenario() -> dict:
        async with AsyncClient(live_server.url, api_key=live_server.api_key) as client:
            sent = await client.events.send({"user_id": "async-u1", "product_id": "P000004", "event_id": "async-e1"})
            batch = await client.events.send_batch(
                [{"user_id": f"async-u{n}", "product_id": "P000005", "event_id": f"async-b{n}"} for n in range(3)]
            )
            store = await client.catalog.create_store({"name": "Async store"})
            product = await client.catalog.create_product(
                {"product_id": "ASYNC-1", "name": "Kettle", "price": "30", "quantity": 1, "store_id": store.id}
            )
            renamed = await client.catalog.update_product(product.id, {"name": "Steel kettle"})
            answers = await asyncio.gather(
                *(client.recommendations.for_user(f"async-u{n}", count=3) for n in range(3)),
            )
            popular = await client.recommendations.popular(count=2)
            similar = await client.recommendations.similar(popular[0].product_id, count=2)
            started = await client.models.train("async-model", {"algorithm": "popular", "deploy": "always"})
            job = await client.jobs.wait(started.job_id, timeout=120, interval=0.2)
            versions = await client.models.versions("async-model")
            models = await client.models.list()
            try:
                await client.jobs.get("no-such-job")
                missing = None
            except NotFound as error:
                missing = error
            return locals()

    seen = asyncio.run(scenario())

    assert seen["sent"].stored == 1 and seen["batch"].stored == 3
    assert seen["renamed"].name == "Steel kettle" and seen["renamed"].store == seen["store"].id
    assert [answer.user_id for answer in seen["answers"]] == ["async-u0", "async-u1", "async-u2"]
    assert all(0 < len(answer.items) <= 3 for answer in seen["answers"])
    assert len(seen["popular"]) == 2 and 0 < len(seen["similar"]) <= 2
    assert seen["job"].status == "completed" and [v.version for v in seen["versions"].items] == [1]
    assert "async-model" in [model.name for model in seen["models"]]
    assert seen["missing"] is not None and seen["missing"].status == 404
