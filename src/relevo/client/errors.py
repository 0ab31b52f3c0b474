"""Errors the client raises: one class per kind of answer, each carrying the server's body."""

import httpx


class RelevoError(Exception):
    """An answer that is not a success. `status` is the HTTP status (None when no answer came),
    `error` the server's short title and `details` what went wrong and where (a string, or the
    list of fields for a validation error)."""

    def __init__(self, status: int | None, error: str, details: object, *, retry_after: float | None = None) -> None:
        super().__init__(f"{status} {error}: {details}" if status is not None else f"{error}: {details}")
        self.status = status
        self.error = error
        self.details = details
        self.retry_after = retry_after


class InvalidArgument(RelevoError):
    """400 or 422: the request names a field the server refused."""


class Unauthenticated(RelevoError):
    """401: no key or token, or one the server does not know."""


class PermissionDenied(RelevoError):
    """403: the key or token may not do this."""


class NotFound(RelevoError):
    """404: no such product, user, model, version or job."""


class Conflict(RelevoError):
    """409: already exists, or the thing is in a state that forbids the change."""


class TooManyRequests(RelevoError):
    """429: a rate limit or quota; `retry_after` says when room frees up."""


class ServiceUnavailable(RelevoError):
    """503: not ready (no model yet) or the database is busy; try again later."""


class ServerError(RelevoError):
    """Any other 5xx: a fault on the server, logged there with a request id."""


class ConnectionFailed(RelevoError):
    """No answer at all: the connection failed or timed out (status is None)."""


_BY_STATUS: dict[int, type[RelevoError]] = {
    400: InvalidArgument,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: InvalidArgument,
    429: TooManyRequests,
    503: ServiceUnavailable,
}


def error_for(response: httpx.Response, retry_after: float | None = None) -> RelevoError:
    """The error for a refused answer, from its {"error", "details"} body (or its text)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        error, details = str(body["error"]), body.get("details")
    else:
        error, details = response.reason_phrase or "HTTP error", response.text
    fallback = ServerError if response.status_code >= 500 else RelevoError
    kind = _BY_STATUS.get(response.status_code, fallback)
    return kind(response.status_code, error, details, retry_after=retry_after)
