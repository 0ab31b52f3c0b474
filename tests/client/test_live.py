"""The sync client against a real `relevo serve`: each resource, and the server's errors as
the client's exceptions."""

import httpx
import pytest

from relevo.client import Client, InvalidArgument, NotFound, Unauthenticated
from tests.client.conftest import LiveServer

pytestmark = pytest.mark.integration


@pytest.fixture
def client(live_server: LiveServer):
    with Client(live_server.url, api_key=live_server.api_key) as client:
        yield client


def test_events_one_and_a_batch_and_an_event_id_stored_once(client: Client) -> None:
    event = {"user_id": "client-u1", "product_id": "P000001", "event_type": "view", "event_id": "client-e1"}
    first = client.events.send(event)
    again = client.events.send(event)
    batch = client.events.send_batch(
        [
            {"user_id": "client-u1", "product_id": "P000002", "event_type": "click"},
            {"user_id": "client-u2", "product_id": "P000003", "event_type": "add_to_cart"},
        ]
    )

    assert (first.stored, first.duplicates) == (1, 0)
    assert (again.stored, again.duplicates) == (0, 1)
    assert (batch.received, batch.stored) == (2, 2)


def test_a_bad_event_is_refused_before_it_is_sent(client: Client) -> None:
    with pytest.raises(ValueError, match="event_type"):
        client.events.send({"user_id": "u", "product_id": "p", "event_type": "Not an event!"})


def test_catalog_stores_and_products_by_the_shops_own_id(client: Client) -> None:
    store = client.catalog.create_store({"name": "Client store"})
    renamed = client.catalog.update_store(store.id, {"name": "Client store, renamed"})
    product = client.catalog.create_product(
        {
            "product_id": "SKU/client 1",
            "name": "Desk lamp",
            "price": "12.50",
            "quantity": 3,
            "category": "Lamps",
            "store_id": store.id,
        }
    )
    repriced = client.catalog.update_product(product.id, {"price": "9.99"})

    assert renamed.name == client.catalog.get_store(store.id).name == "Client store, renamed"
    assert store.id in [each.id for each in client.catalog.list_stores()]
    assert (product.product_id, str(repriced.price), repriced.name) == ("SKU/client 1", "9.99", "Desk lamp")
    assert client.catalog.get_product(product.id).product_id == "SKU/client 1"
    assert [each.product_id for each in client.catalog.list_products(category="Lamps")] == ["SKU/client 1"]


def test_recommendations_with_filters_similar_and_popular(client: Client) -> None:
    popular = client.recommendations.popular(count=3)
    top = popular[0].product_id
    answer = client.recommendations.for_user("client-u3", count=4, in_stock=True, exclude=[top])
    similar = client.recommendations.similar(top, count=2)

    assert len(popular) == 3 and popular[0].users >= popular[-1].users
    assert answer.user_id == "client-u3" and answer.recommendation_id and answer.model.name == "default"
    assert 0 < len(answer.items) <= 4 and top not in [item.product_id for item in answer.items]
    assert 0 < len(similar) <= 2 and all(item.reason for item in answer.items)


def test_models_train_wait_deploy_and_roll_back(client: Client) -> None:
    started = client.models.train("client-model", {"algorithm": "popular", "deploy": "always"})
    first = client.jobs.wait(started.job_id, timeout=120, interval=0.2)
    second = client.models.train("client-model", {"algorithm": "popular", "deploy": "never"})
    client.jobs.wait(second.job_id, timeout=120, interval=0.2)
    deployed = client.models.deploy("client-model", second.version)
    rolled_back = client.models.rollback("client-model")

    assert first.status == "completed" and client.jobs.get(started.job_id).status == "completed"
    assert deployed.version == second.version and deployed.status == "deployed"
    assert rolled_back.version == started.version
    assert [v.version for v in client.models.versions("client-model").items] == [second.version, started.version]
    assert client.models.version("client-model", started.version).status == "deployed"
    assert "client-model" in [model.name for model in client.models.list()]


def test_a_login_token_works_as_an_api_key_does(live_server: LiveServer) -> None:
    login = {"username": "client-admin", "password": "client-admin-pw"}
    token = httpx.post(f"{live_server.url}/api/v1/auth/token", data=login, timeout=10).json()["access_token"]
    with Client(live_server.url, token=token) as client:
        store = client.catalog.create_store({"name": "Made with a token"})

    assert store.owner == "client-admin"


def test_the_servers_errors_carry_status_error_and_details(client: Client, live_server: LiveServer) -> None:
    with pytest.raises(NotFound) as missing:
        client.models.version("default", 999)
    with pytest.raises(InvalidArgument) as invalid:
        client.recommendations.for_user("client-u1", count=0)
    with Client(live_server.url, api_key="not-a-key") as stranger, pytest.raises(Unauthenticated) as refused:
        stranger.catalog.create_store({"name": "nope"})

    assert (missing.value.status, missing.value.error) == (404, "Not found")
    assert "999" in str(missing.value.details)
    assert invalid.value.status == 422 and "count" in str(invalid.value.details)
    assert refused.value.status == 401
