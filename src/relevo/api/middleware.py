"""The one ASGI middleware around every request: a request id, request metrics, and a cap on
the request body's size. One layer, reading the headers once: it runs for every request."""

import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relevo.api.errors import error_response
from relevo.core.logging import request_id_var
from relevo.ops import metrics


class _BodyTooLarge(BaseException):
    """Not an Exception, so no error handler on the way up can swallow it."""


class RequestMiddleware:
    """Gives each request an id (or keeps the caller's X-Request-ID), records its metrics, and
    refuses bodies over `max_body_bytes` with 413 before they are written anywhere."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

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
        limit = self.max_body_bytes

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
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
                await self._refuse(scope, receive, send_with_id)
            else:
                await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            if not response_started:
                await self._refuse(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            metrics.observe_request(scope["method"], route, status, time.perf_counter() - started)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit_mb = self.max_body_bytes / (1024 * 1024)
        response = error_response(413, "Payload too large", f"the request body exceeds the limit of {limit_mb:g} MB")
        await response(scope, receive, send)
