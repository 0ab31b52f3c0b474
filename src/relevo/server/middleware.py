"""The one ASGI middleware around every request: a request id, request metrics (Prometheus, and
the request statistics kept in the database), a cap on the request body's size, no NUL
character in the URL, and the rate-limit header fields of the limits the request counted
against. One layer, reading the headers once: it runs for every request."""

import time
import uuid
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relevo.api.errors import error_response
from relevo.core import metrics
from relevo.core.logging import request_id_var
from relevo.performance.requests import ANSWER_SOURCE, NOT_COUNTED, RequestStatistics
from relevo.ratelimits.headers import header_fields
from relevo.ratelimits.limiter import VERDICTS


class _BodyTooLarge(BaseException):
    """Not an Exception, so no error handler on the way up can swallow it."""


def nul_in_url(path: str, query_string: bytes) -> str | None:
    """The part of a URL that holds a NUL character (`path`, or a query parameter's name), if
    any: PostgreSQL cannot compare text with one, so every route refuses it alike."""
    if "\x00" in path:
        return "path"
    if b"%00" not in query_string:
        return None
    query = query_string.decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return None


class RequestMiddleware:
    """Gives each request an id (or keeps the caller's X-Request-ID), records its metrics (in
    `statistics` too, when given), refuses bodies over `max_body_bytes` with 413 before they
    are written anywhere, and a URL holding a NUL character with 400 naming where. A response of
    a rate-limited route, whatever its status, says how much of each limit is left (the route
    counted the request and left its verdicts in the scope)."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        statistics: RequestStatistics | None = None,
        model_upload_bytes: tuple[tuple[str, ...], int] = ((), 0),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.statistics = statistics
        # Paths (prefixes) that take model files, and the larger limit their bodies have.
        self.model_upload_paths, self.model_upload_limit = model_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, declared_length = None, None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:64]
            elif name == b"content-length":
                declared_length = value
        request_id = request_id or uuid.uuid4().hex
        # Each request runs in its own task, so the value never leaks into another request;
        # it stays set for the error handlers that run outside this middleware.
        request_id_var.set(request_id)
        started = time.perf_counter()
        status, response_started, received = 500, False, 0
        limit = self.body_limit(scope["path"])

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                headers = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
                verdicts = scope.get(VERDICTS)
                if verdicts:
                    headers += header_fields(verdicts)
                message["headers"] = headers
            await send(message)

        try:
            nul_at = nul_in_url(scope["path"], scope["query_string"])
            if nul_at is not None:
                refusal = error_response(400, "Invalid parameter", f"{nul_at}: must not contain NUL characters")
                await refusal(scope, receive, send_with_id)
            elif declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
                await self._refuse(scope, receive, send_with_id)
            else:
                await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            if not response_started:
                await self._refuse(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            seconds = time.perf_counter() - started
            metrics.observe_request(scope["method"], route, status, seconds)
            if self.statistics is not None and route not in NOT_COUNTED:
                self.statistics.observe(f"{scope['method']} {route}", status, seconds, scope.get(ANSWER_SOURCE))

    def body_limit(self, path: str) -> int:
        if self.model_upload_paths and path.startswith(self.model_upload_paths):
            return max(self.model_upload_limit, self.max_body_bytes)
        return self.max_body_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit_mb = self.body_limit(scope["path"]) / (1024 * 1024)
        response = error_response(413, "Payload too large", f"the request body exceeds the limit of {limit_mb:g} MB")
        await response(scope, receive, send)
