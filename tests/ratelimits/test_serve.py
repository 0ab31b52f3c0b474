"""`relevo serve` takes the client's address from the connection alone: uvicorn, which by
default believes X-Forwarded-For from loopback, is told not to, so Relevo's list of trusted
proxies (empty here) is the only rule."""

from pathlib import Path

import httpx2
import pytest

from tests.errors import assert_error_mentioning
from tests.ratelimits.conftest import DAY, away_from_a_window_edge
from tests.served import served

pytestmark = pytest.mark.integration


def test_a_forwarded_for_header_from_loopback_is_not_believed(tmp_path: Path) -> None:
    environment = {
        "RELEVO_DATA_DIR": str(tmp_path / "data"),
        "RELEVO_RATE_LIMITS": "true",
        "RELEVO_RATE_LIMIT_API": "3/day",
        "RELEVO_RATE_LIMIT_STORAGE": "memory",
    }
    away_from_a_window_edge(DAY)
    with served(environment, tmp_path / "server.log") as server, httpx2.Client(base_url=server.url) as client:
        answers = [client.get("/api/v1/popular", headers={"X-Forwarded-For": f"1.1.1.{n}"}) for n in range(3)]
        refused = client.get("/api/v1/popular", headers={"X-Forwarded-For": "2.2.2.2"})

    assert [answer.status_code for answer in answers] == [200] * 3
    assert_error_mentioning(refused, 429, "address 127.0.0.1")
