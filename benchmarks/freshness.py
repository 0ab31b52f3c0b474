"""Freshness over HTTP, against `relevo serve --workers N`: a user's recommendation asked right
after an event of that user, and every answer after a product is deleted. Each request goes
on a new connection, so any worker process may answer it (not the one that took the event).

A round: GET the user's list, POST a purchase of its first product, GET the list again; the
answer reflects the event when that product is no longer in it. Deleting: a product from the
answers is deleted through the store API, then answers are asked for until it is gone."""

import http.client
import json
import statistics
import time

from sqlalchemy import create_engine, select

from relevo.catalog.models import Product


def _call(port: int, method: str, path: str, key: str, body: object | None = None) -> tuple[int, object]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def _top(port: int, key: str, user: str, count: int = 10) -> list[str]:
    status, answer = _call(port, "GET", f"/api/v1/recommendations/{user}?count={count}", key)
    assert status == 200, answer
    return [item["product_id"] for item in answer["items"]]


def after_events(port: int, key: str, users: list[str]) -> None:
    """Purchase-then-ask rounds, one user each."""
    reflected, after, started = 0, [], time.perf_counter()
    for user in users:
        top = _top(port, key, user)[0]
        status, answer = _call(
            port, "POST", "/api/v1/events", key, {"user_id": user, "product_id": top, "event_type": "purchase"}
        )
        assert status in (200, 201), answer
        asked = time.perf_counter()
        reflected += top not in _top(port, key, user)
        after.append(time.perf_counter() - asked)
    seconds = time.perf_counter() - started
    after.sort()
    print(
        f"  a recommendation asked right after a purchase: {reflected / len(users):.1%} of {len(users)} answers reflect"
        f" it; {len(users) / seconds:.0f} GET-POST-GET rounds/s; the GET after p50"
        f" {statistics.median(after) * 1000:.1f} ms, p99 {after[int(0.99 * (len(after) - 1))] * 1000:.1f} ms"
    )


def after_deletes(port: int, key: str, database_url: str, products: int = 8, answers: int = 10) -> None:
    """Seconds from a product's deletion to the first of `answers` answers in a row that leave it out."""
    waits = []
    for number in range(products):
        user = f"deletion-watcher-{number}"
        product = _top(port, key, user)[0]
        engine = create_engine(database_url)
        with engine.connect() as connection:
            product_id = connection.scalar(select(Product.id).where(Product.external_id == product))
        engine.dispose()
        status, answer = _call(port, "DELETE", f"/api/v1/store/products/{product_id}/", key)
        assert status == 200, answer
        deleted, in_a_row, gone_at = time.perf_counter(), 0, 0.0
        while in_a_row < answers:
            asked = time.perf_counter()
            if product in _top(port, key, user):
                in_a_row = 0
            elif in_a_row == 0:
                in_a_row, gone_at = 1, asked
            else:
                in_a_row += 1
            if asked - deleted > 60:
                raise RuntimeError(f"{product} still recommended a minute after its deletion")
        waits.append(gone_at - deleted)
    print(
        f"  a product deleted is out of every answer (the first of {answers} in a row) after p50"
        f" {statistics.median(waits):.2f} s,"
        f" at most {max(waits):.2f} s ({products} products)"
    )
