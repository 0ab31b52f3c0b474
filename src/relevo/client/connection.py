"""What the sync and async clients share: their settings, headers and the decision after each try."""

import httpx

from relevo import __version__
from relevo.client.calls import Call
from relevo.client.errors import ConnectionFailed, RelevoError, error_for
from relevo.client.retries import RETRIED_STATUSES, RetryPolicy, retry_after_seconds


def client_headers(api_key: str | None, token: str | None) -> dict[str, str]:
    """An API key and a JWT both go as a bearer token; the server tells them apart."""
    if api_key is not None and token is not None:
        raise ValueError("give an api_key or a token, not both")
    headers = {"User-Agent": f"relevo-client/{__version__}"}
    secret = api_key if api_key is not None else token
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    return headers


def after_answer(
    response: httpx.Response, *, policy: RetryPolicy, attempt: int, waited: float
) -> tuple[float | None, RelevoError]:
    """For an answer that is not a success: the wait before trying again (None: give up) and
    the error to raise when giving up."""
    retry_after = retry_after_seconds(response.headers)
    error = error_for(response, retry_after)
    if response.status_code not in RETRIED_STATUSES:
        return None, error
    return policy.wait_after(attempt=attempt, waited=waited, retry_after=retry_after), error


def after_connection_error(
    call: Call, failure: httpx.TransportError, *, policy: RetryPolicy, attempt: int, waited: float
) -> tuple[float | None, RelevoError]:
    """For a try that got no answer: a call that may not be sent twice is never tried again."""
    error = ConnectionFailed(None, type(failure).__name__, str(failure) or repr(failure))
    if not call.may_repeat:
        return None, error
    return policy.wait_after(attempt=attempt, waited=waited, retry_after=None), error
