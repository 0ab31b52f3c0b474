"""A Python client for Relevo's API, sync (`Client`) and async (`AsyncClient`), on httpx."""

from relevo.client.asynchronous import AsyncClient
from relevo.client.errors import (
    Conflict,
    ConnectionFailed,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RelevoError,
    ServerError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthenticated,
)
from relevo.client.retries import RetryPolicy
from relevo.client.sync import Client

__all__ = [
    "AsyncClient",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "RelevoError",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthenticated",
]
