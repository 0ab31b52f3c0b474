"""Retries: which answers and failures are tried again, how long the client waits (Retry-After
in seconds or as an HTTP date, else backoff), and when it gives up. A stub server stands in
for answers a real Relevo cannot be made to give on demand; the waits are recorded, not slept."""

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from relevo.client import (
    AsyncClient,
    Client,
    ConnectionFailed,
    RetryPolicy,
    ServiceUnavailable,
    TooManyRequests,
)
from relevo.client.retries import retry_after_seconds
from tests.client.stub import Answer, stub_server
from tests.served import free_port

BUSY = Answer(503, {"error": "Service unavailable", "details": "the database is busy or unreachable; retry shortly"})
POPULAR = Answer(
    200, [{"product_id": "P1", "name": None, "category": None, "price": None, "currency": None, "users": 3}]
)
NO_JITTER = RetryPolicy(attempts=4, backoff=0.5, jitter=False)


def recording_client(url: str, policy: RetryPolicy = NO_JITTER) -> tuple[Client, list[float]]:
    waits: list[float] = []
    return Client(url, retries=policy, sleep=waits.append), waits


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    in_ten = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)

    assert retry_after_seconds({"retry-after": "7"}) == 7.0
    assert 8.0 <= retry_after_seconds({"retry-after": in_ten}) <= 10.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_a_503_with_a_retry_after_date_is_waited_out_then_the_call_succeeds() -> None:
    in_three = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    with stub_server([Answer(503, BUSY.body, {"Retry-After": in_three}), POPULAR]) as stub:
        client, waits = recording_client(stub.url)
        with client:
            popular = client.recommendations.popular(count=1)

    assert [product.product_id for product in popular] == ["P1"]
    assert len(waits) == 1 and 1.0 <= waits[0] <= 3.0
    assert len(stub.requests) == 2


def test_without_retry_after_the_backoff_doubles_and_jitter_keeps_it_within_half() -> None:
    with stub_server([BUSY, BUSY, BUSY, POPULAR]) as stub:
        client, waits = recording_client(stub.url)
        with client:
            client.recommendations.popular()
        jittered, jittered_waits = recording_client(stub.url, RetryPolicy(attempts=4, backoff=0.5))
        stub.answers[:] = [BUSY, BUSY, BUSY, POPULAR]
        with jittered:
            jittered.recommendations.popular()

    assert waits == [0.5, 1.0, 2.0]
    assert [full / 2 <= wait <= full for wait, full in zip(jittered_waits, waits, strict=True)] == [True] * 3


def test_the_client_gives_up_after_its_attempts_with_the_servers_error() -> None:
    with stub_server([BUSY]) as stub:
        client, waits = recording_client(stub.url, RetryPolicy(attempts=3, backoff=0.1, jitter=False))
        with client, pytest.raises(ServiceUnavailable) as refused:
            client.recommendations.popular()

    assert len(stub.requests) == 3 and waits == [0.1, 0.2]
    assert (refused.value.status, refused.value.error) == (503, "Service unavailable")
    assert refused.value.details == "the database is busy or unreachable; retry shortly"


def test_a_retry_after_beyond_the_total_wait_is_not_waited_for() -> None:
    limited = Answer(429, {"error": "Too many requests", "details": "100 per 1 minute"}, {"Retry-After": "3600"})
    with stub_server([limited]) as stub:
        client, waits = recording_client(stub.url, RetryPolicy(max_wait=30))
        with client, pytest.raises(TooManyRequests) as refused:
            client.events.send({"user_id": "u", "product_id": "p"})

    assert waits == [] and len(stub.requests) == 1
    assert refused.value.retry_after == 3600.0


def test_other_errors_are_never_retried() -> None:
    missing = Answer(404, {"error": "Not found", "details": "job j does not exist"})
    with stub_server([missing, POPULAR]) as stub:
        client, waits = recording_client(stub.url)
        with client, pytest.raises(Exception, match="job j does not exist"):
            client.jobs.get("j")

    assert waits == [] and len(stub.requests) == 1


def test_after_a_connection_error_only_idempotent_calls_are_tried_again() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client, waits = recording_client(nobody, RetryPolicy(attempts=3, backoff=0.1, jitter=False))
    with client:
        with pytest.raises(ConnectionFailed):
            client.recommendations.popular()
        read_waits = list(waits)
        waits.clear()
        with pytest.raises(ConnectionFailed) as plain_post:
            client.events.send({"user_id": "u", "product_id": "p"})  # no event_id: may have been stored
        post_waits = list(waits)
        waits.clear()
        with pytest.raises(ConnectionFailed):
            client.events.send_batch([{"user_id": "u", "product_id": "p", "event_id": "e1"}])

    assert read_waits == [0.1, 0.2]
    assert post_waits == [] and plain_post.value.status is None
    assert waits == [0.1, 0.2]


def test_the_async_client_retries_alike() -> None:
    async def popular(url: str, waits: list[float]) -> list:
        async def sleep(seconds: float) -> None:
            waits.append(seconds)

        async with AsyncClient(url, retries=NO_JITTER, sleep=sleep) as client:
            return await client.recommendations.popular()

    waits: list[float] = []
    limited = Answer(429, {"error": "Too many requests", "details": "1 per 1 second"}, {"Retry-After": "2"})
    with stub_server([limited, BUSY, POPULAR]) as stub:
        answer = asyncio.run(popular(stub.url, waits))

    assert waits == [2.0, 1.0] and answer[0].users == 3
