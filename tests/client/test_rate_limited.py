"""Against a real `relevo serve` with a tiny rate limit (one call a second): a refused call
waits exactly what the server's Retry-After says, then succeeds."""

import time
from pathlib import Path

import httpx
import pytest

from relevo.client import Client, RetryPolicy
from tests.client.conftest import shop_environment
from tests.served import served

pytestmark = pytest.mark.integration


def test_a_429_is_retried_after_the_servers_retry_after_and_then_succeeds(tmp_path: Path) -> None:
    environment, key = shop_environment(tmp_path)
    environment |= {
        "RELEVO_RATE_LIMITS": "true",
        "RELEVO_RATE_LIMIT_API": "1/second",
        "RELEVO_RATE_LIMIT_STORAGE": "memory",
    }
    refusals: list[str] = []
    waits: list[float] = []

    def note_refusal(response: httpx.Response) -> None:
        if response.status_code == 429:
            refusals.append(response.headers["retry-after"])

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    with served(environment, tmp_path / "server.log") as server:
        http = httpx.Client(base_url=server.url, event_hooks={"response": [note_refusal]})
        with Client(server.url, api_key=key, http=http, retries=RetryPolicy(attempts=5), sleep=sleep) as client:
            # Three calls in a row: two of them fall in the same second, so at least one is refused.
            answers = [client.recommendations.for_user(f"limited-u{n}", count=2) for n in range(3)]

    assert [answer.user_id for answer in answers] == ["limited-u0", "limited-u1", "limited-u2"]
    assert refusals and waits == [float(seconds) for seconds in refusals]
