"""Dependencies shared by the routers: settings, the request's session, and who is calling;
and the route classes: every route's, which counts requests against the rate limits, and that
of recommendation reads, whose caller check is not a dependency either.

Dependencies that do no I/O are `async`, so they run on the event loop: each synchronous one
costs a hand-over to the thread pool and back, which under load cost more than the work.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from relevo.accounts import publishable
from relevo.accounts import service as accounts_service
from relevo.accounts.callers import Caller, CallerCache
from relevo.accounts.scopes import Scope
from relevo.core.caches import LockedCache
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.core.errors import Unauthenticated
from relevo.core.rates import LimitClass
from relevo.core.security import decode_access_token, digest_api_key, is_api_key, secrets_match
from relevo.events.writer import EventWriter
from relevo.jobs.executor import Executor
from relevo.ratelimits.limiter import RateLimiter
from relevo.ratelimits.routes import limit_classes

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TRANSACTION_ENDINGS = 40  # threads that may commit or roll back at once, apart from the pool
_AUTHORIZATION = "Authorization"
_AUTHORIZATION_DOC = "`Bearer <token>` or `Token <token>`, where the token is a JWT from /login or an API key"
_authorization = APIKeyHeader(name=_AUTHORIZATION, auto_error=False, description=_AUTHORIZATION_DOC)


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_database(request: Request) -> Database:
    return request.app.state.database


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request, committed before the response is sent. Opening a session
    does no I/O; the commit (or the rollback, on error) runs on a worker thread.

    Commits and rollbacks draw on a capacity of their own: were every pool thread waiting on a
    row lock, the transaction holding that lock could otherwise never get a thread to commit.
    """
    session = request.app.state.database.session(write=request.method not in _READ_METHODS)
    limiter = _transaction_endings(request)
    try:
        yield session
    except BaseException:
        await anyio.to_thread.run_sync(session.close, limiter=limiter)
        raise
    await anyio.to_thread.run_sync(_commit_and_close, session, limiter=limiter)


def _transaction_endings(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    if not hasattr(state, "transaction_endings"):
        state.transaction_endings = anyio.CapacityLimiter(_TRANSACTION_ENDINGS)
    return state.transaction_endings


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()


async def get_event_writer(request: Request) -> EventWriter:
    return request.app.state.event_writer


async def get_executor(request: Request) -> Executor:
    return request.app.state.executor


async def get_predictors(request: Request) -> LockedCache:
    """The predictors this server keeps loaded (registry/inference.py)."""
    return request.app.state.predictors


SettingsDep = Annotated[Settings, Depends(get_settings)]
EventWriterDep = Annotated[EventWriter, Depends(get_event_writer)]
ExecutorDep = Annotated[Executor, Depends(get_executor)]
DatabaseDep = Annotated[Database, Depends(get_database)]
PredictorsDep = Annotated[LockedCache, Depends(get_predictors)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() not in ("bearer", "token") or not token.strip():
        raise Unauthenticated("the Authorization header must be `Bearer <token>` or `Token <token>`")
    return token.strip()


Authorization = Annotated[str | None, Depends(_authorization)]


async def get_optional_caller(request: Request, authorization: Authorization) -> Caller | None:
    """The caller a token names. Tokens seen in the last few seconds are not looked up again."""
    token = _bearer_token(authorization)
    if token is None:
        return None
    settings: Settings = request.app.state.settings
    if not is_api_key(token):
        decode_access_token(token, secret_key=settings.secret_key)  # forged or expired: refused at once
    callers: CallerCache = request.app.state.callers
    digest = digest_api_key(token)
    caller = callers.get(digest)
    if caller is None:
        caller = await run_in_threadpool(_authenticate, request.app.state.database, token, settings)
        callers.put(digest, caller)
    if caller.origins is not None:
        route = getattr(request.scope.get("route"), "path", None)
        publishable.admit(caller, method=request.method, route=route, origin=request.headers.get("origin"))
    return caller


def _authenticate(database: Database, token: str, settings: Settings) -> Caller:
    with database.transaction(write=False) as session:
        caller = accounts_service.authenticate_token(session=session, token=token, settings=settings)
    if is_api_key(token):
        accounts_service.note_api_key_use(database=database, token=token)
    return caller


OptionalCaller = Annotated[Caller | None, Depends(get_optional_caller)]


async def get_current_caller(caller: OptionalCaller) -> Caller:
    if caller is None:
        raise Unauthenticated("send `Authorization: Bearer <token>`; get a token from POST /login or an API key")
    return caller


CurrentCaller = Annotated[Caller, Depends(get_current_caller)]


def require_scope(scope: Scope, refusal: str | None = None) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency: the caller, if it holds `scope` (403 otherwise, with `refusal` if given)."""

    async def check(caller: CurrentCaller) -> Caller:
        caller.require(scope, refusal)
        return caller

    return check


AdminCaller = Annotated[Caller, Depends(require_scope(Scope.admin))]
ReaderCaller = Annotated[Caller, Depends(require_scope(Scope.read))]
EventSender = Annotated[Caller, Depends(require_scope(Scope.events_write))]
JobManager = Annotated[Caller, Depends(require_scope(Scope.jobs_manage))]
ModelManager = Annotated[Caller, Depends(require_scope(Scope.models_manage))]
KeyManager = Annotated[Caller, Depends(require_scope(Scope.keys_manage))]
# Recommendations computed in the background for a caller (the purchases API's generation).
RecommendationReader = Annotated[Caller, Depends(require_scope(Scope.recommendations_read))]


def internal_caller(scope: Scope) -> Callable[..., Awaitable[Caller | None]]:
    """The AI service's internal routes: the shared secret header, or else a token holding `scope`.

    The dependency returns the caller, or None when the caller proved itself with the shared
    secret (a trusted integration, which writes every store).
    """

    async def check(request: Request, settings: SettingsDep, caller: OptionalCaller) -> Caller | None:
        if settings.client_secret:
            given = request.headers.get(settings.client_secret_header)
            if given is not None:
                if secrets_match(given, settings.client_secret):
                    return None
                raise Unauthenticated(f"the {settings.client_secret_header} header does not match")
        if caller is None:
            raise Unauthenticated(f"send the {settings.client_secret_header} header or `Authorization: Bearer <token>`")
        caller.require(scope)
        return caller

    return check


async def check_read_access(request: Request) -> None:
    """Recommendation reads are public unless RELEVO_PUBLIC_RECOMMENDATIONS is false, and then
    need the scope recommendations:read; a token, when sent, must be valid either way."""
    caller = await get_optional_caller(request, request.headers.get(_AUTHORIZATION))
    if request.app.state.settings.public_recommendations:
        return
    if caller is None:
        raise Unauthenticated("recommendations on this server need `Authorization: Bearer <token>`")
    caller.require(Scope.recommendations_read)


# The OpenAPI security of recommendation reads: the Authorization header, optional (the empty
# requirement) while reads are public.
PUBLIC_READ_SECURITY = [{}, {_authorization.scheme_name: []}]
PRIVATE_READ_SECURITY = [{_authorization.scheme_name: []}]


async def count_request(request: Request, classes: tuple[LimitClass, ...]) -> None:
    """Counts the request against the caller's limits of `classes` (429 when one has no room):
    the API key's or account's when the token is valid, the client address's otherwise (a bad
    token is refused by the route all the same, after being counted)."""
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if limiter is None:
        return
    try:
        caller = await get_optional_caller(request, request.headers.get(_AUTHORIZATION))
    except Unauthenticated:
        caller = None
    await limiter.check(request.scope, caller, classes)
    shopper = request.path_params.get("user_id")
    if caller is not None and caller.origins is not None and shopper is not None:
        await limiter.check_shoppers(request.scope, caller, (shopper,))


async def count_shoppers(request: Request, caller: Caller, user_ids: Iterable[str]) -> None:
    """Counts a publishable key's request against the limit of each shopper it names (429 when
    one has no room); requests with any other token are not counted so."""
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if limiter is not None and caller.origins is not None:
        await limiter.check_shoppers(request.scope, caller, user_ids)


class LimitedRoute(APIRoute):
    """The class of every route: a request counts against the rate limits its route is subject
    to (ratelimits/routes.py) before anything else is done, its body not even read. Not a
    dependency: dependencies are solved after the body is read."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        answer = self.counted_handler()
        classes = limit_classes(self.path, self.methods or ())
        if not classes:
            return answer

        async def limited(request: Request) -> Response:
            await count_request(request, classes)
            return await answer(request)

        return limited

    def counted_handler(self) -> Callable[[Request], Awaitable[Response]]:
        """What the route does once the request is counted."""
        return super().get_route_handler()


class ReadRoute(LimitedRoute):
    """The route class of recommendation reads: its handler checks the caller, then lets FastAPI
    solve the route's parameters. Not a dependency, since each level of dependencies costs every
    request time of its own and these are the busiest routes. Each read documents the same
    Authorization header as the routes that need a token, as optional (`document_reads` says
    otherwise on a server whose reads need a token)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        options["openapi_extra"] = {"security": PUBLIC_READ_SECURITY, **(options.get("openapi_extra") or {})}
        super().__init__(path, endpoint, **options)

    def counted_handler(self) -> Callable[[Request], Awaitable[Response]]:
        answer = super().counted_handler()

        async def checked(request: Request) -> Response:
            await check_read_access(request)
            return await answer(request)

        return checked


def document_reads(app: FastAPI, *, public: bool) -> None:
    """Makes the app's OpenAPI document say whether recommendation reads need a token."""
    if public:
        return
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for route in iter_route_contexts(app.routes):
                if isinstance(route.original_route, ReadRoute):
                    for method in route.methods or ():
                        schema["paths"][route.path][method.lower()]["security"] = PRIVATE_READ_SECURITY
        return app.openapi_schema

    app.openapi = openapi


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def read_route(router: APIRouter, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
    """Registers `GET path` on `router` as a recommendation read (a `ReadRoute`), for routers
    whose other routes are not reads; `options` are those of `router.get`."""

    def register(endpoint: Endpoint) -> Endpoint:
        router.add_api_route(path, endpoint, methods=["GET"], route_class_override=ReadRoute, **options)
        return endpoint

    return register
