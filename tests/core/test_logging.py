"""What Relevo's logs never hold: the values of credential parameters and URL passwords."""

import io
import logging
import pydoc

import pytest
from uvicorn.logging import AccessFormatter

from relevo.core.logging import redact, uvicorn_log_config


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("POST /login?username=admin&password=s3cret HTTP/1.1", "POST /login?username=admin&password=*** HTTP/1.1"),
        ("/x?access_token=a.b.c&page=2&API_KEY=rlv_k", "/x?access_token=***&page=2&API_KEY=***"),
        ("new_password=p%20q&client_secret=s&refresh_token=r", "new_password=***&client_secret=***&refresh_token=***"),
        ("/login?password%3Dhunter2", "/login?password%3D***"),
        ("postgresql+psycopg://relevo:pg-pass@db:5432/relevo", "postgresql+psycopg://relevo:***@db:5432/relevo"),
        ("redis://:r-pass@cache:6379/0", "redis://:***@cache:6379/0"),
        ("GET /api/v1/events?user_id=u1&limit=10", "GET /api/v1/events?user_id=u1&limit=10"),
        ("mail alice@example.com about it", "mail alice@example.com about it"),
    ],
)
def test_credentials_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_uvicorns_access_log_prints_the_query_string_redacted() -> None:
    """uvicorn's own access formatter and the filter `relevo serve` gives each of uvicorn's
    handlers, fed a record as uvicorn's HTTP protocol writes one."""
    config = uvicorn_log_config()
    assert all("redact_secrets" in handler["filters"] for handler in config["handlers"].values())
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter(fmt=config["formatters"]["access"]["fmt"], use_colors=False))
    handler.addFilter(pydoc.locate(config["filters"]["redact_secrets"]["()"])())
    logger = logging.getLogger("tests.uvicorn.access")
    logger.handlers[:], logger.propagate = [handler], False

    logger.warning(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:50000", "POST", "/login?username=admin&password=s3cret", "1.1", 200
    )

    assert stream.getvalue().endswith('- "POST /login?username=admin&password=*** HTTP/1.1" 200 OK\n')
