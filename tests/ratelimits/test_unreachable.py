"""A Redis that cannot be reached, or does not answer, does not stop the API: requests go
through unlimited (the server logs it), after at most the counters' deadline."""

import socket

import pytest

from tests.ratelimits.conftest import LimitedClient
from tests.ratelimits.test_limits import READ, fields


@pytest.fixture
def storage() -> str:
    """Each test here names the Redis its servers count in."""
    return "memory"


def test_requests_are_served_unlimited_while_the_counters_cannot_be_reached(
    limited_client: LimitedClient, capsys: pytest.CaptureFixture
) -> None:
    """Redis down: requests are served unlimited rather than all refused, and the server says so
    (once a minute, not once a request)."""
    with limited_client(rate_limit_storage="redis://127.0.0.1:1/0") as client:
        answers = [client.get(READ) for _ in range(5)]

    assert [answer.status_code for answer in answers] == [200] * 5
    assert all(fields(answer) == (None, None) for answer in answers)
    logged = capsys.readouterr().err
    assert logged.count("WARNING relevo.ratelimits") == 1
    assert "rate limits not applied: their counters cannot be reached (Error 111 connecting" in logged


def test_a_redis_that_does_not_answer_holds_a_request_up_no_longer_than_the_deadline(
    limited_client: LimitedClient,
) -> None:
    with socket.socket() as silent:  # accepts connections and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        storage = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        with limited_client(rate_limit_storage=storage) as client:
            answer = client.get(READ)

    assert answer.status_code == 200
    assert fields(answer) == (None, None)
