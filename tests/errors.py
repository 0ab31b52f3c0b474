"""The one error body every failing request answers: {"error": ..., "details": ...}."""

from typing import Any

from httpx2 import Response


def assert_error(response: Response, status: int, error: str | None = None) -> Any:
    """Checks the status and the error body (and, for 401, the challenge header); returns `details`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error", "details"}, body
    assert isinstance(body["error"], str) and body["error"], body
    if error is not None:
        assert body["error"] == error, body
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    return body["details"]


def assert_error_mentioning(response: Response, status: int, *words: str) -> Any:
    """assert_error, and the details name each of `words` (a field, a limit, a role)."""
    details = assert_error(response, status)
    for word in words:
        assert word in str(details), details
    return details
