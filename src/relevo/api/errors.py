"""Maps every error to one JSON body, {"error", "details"}, with the right status code."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from relevo.api.deps import LimitedRoute
from relevo.core.errors import RelevoError
from relevo.core.logging import request_id_var

logger = logging.getLogger("relevo.api")


class DetailRoute(LimitedRoute):
    """Routes of the store API: its clients read `detail`, and expect 400 on bad input."""


def error_response(status_code: int, error: str, details: object, request: Request | None = None) -> JSONResponse:
    body: dict[str, object] = {"error": error, "details": details}
    headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else None
    if request is not None and isinstance(request.scope.get("route"), DetailRoute):
        body["detail"] = details
    return JSONResponse(body, status_code=status_code, headers=headers)


def describe_validation_errors(errors: list[dict]) -> str:
    """One line naming each bad field and its problem, e.g. `price: Input should be a valid decimal`."""
    parts = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in ("body", "query", "path", "header", "form"):
            location = location[1:] or location
        field = ".".join(location) or "request"
        parts.append(f"{field}: {error.get('msg', 'is not valid')}")
    return "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RelevoError)
    async def _domain_error(request: Request, exc: RelevoError) -> JSONResponse:
        return error_response(exc.status_code, exc.error, exc.details, request)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        for error in errors:
            if error.get("type") == "json_invalid":
                reason = error.get("ctx", {}).get("error", "malformed")
                return error_response(400, "Invalid JSON", f"body: is not valid JSON ({reason})", request)
        status = 400 if isinstance(request.scope.get("route"), DetailRoute) else 422
        return error_response(status, "Invalid parameter", describe_validation_errors(errors), request)

    @app.exception_handler(ValidationError)
    async def _internal_validation_error(request: Request, exc: ValidationError) -> JSONResponse:
        # A value that passed the request schema but not a stricter domain schema.
        return error_response(422, "Invalid parameter", describe_validation_errors(exc.errors()), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed"}
        details = exc.detail
        if exc.status_code == 404 and details == "Not Found":
            details = f"no route {request.method} {request.url.path}"
        if exc.status_code == 405 and details == "Method Not Allowed":
            details = f"{request.method} is not allowed on {request.url.path}"
        response = error_response(exc.status_code, titles.get(exc.status_code, "HTTP error"), details, request)
        response.headers.update(exc.headers or {})  # e.g. the Allow header a 405 must carry
        return response

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        logger.info("integrity error: %s", exc.orig)
        return error_response(409, "Conflict", "the change conflicts with existing data", request)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # A value the schema let through but the database cannot store (e.g. \u0000 in JSON).
        logger.info("data error: %s", exc.orig)
        reason = str(exc.orig).split("\n")[0]
        return error_response(400, "Invalid parameter", f"a value cannot be stored: {reason}", request)

    @app.exception_handler(OperationalError)
    async def _operational_error(request: Request, exc: OperationalError) -> JSONResponse:
        logger.warning("database unavailable: %s", exc.orig)
        return error_response(503, "Service unavailable", "the database is busy or unreachable; retry shortly", request)

    @app.exception_handler(Exception)
    async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        request_id = request_id_var.get()
        response = error_response(
            500, "Internal server error", f"an unexpected error happened (request id {request_id})", request
        )
        # Starlette answers unhandled errors outside every middleware, so the id header is set here.
        response.headers["x-request-id"] = request_id
        return response
