"""Which web pages may call the API from a browser (CORS): the origins RELEVO_CORS_ORIGINS lists,
on every route, and the origins of publishable keys, on the routes those keys may call."""

import re
from collections.abc import Callable, Iterable

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

METHODS = ("GET", "POST", "OPTIONS")
HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
# What a page's script may read of an answer: the request id, and the rate limits (ratelimits/headers.py).
EXPOSED = ("X-Request-ID", "RateLimit", "RateLimit-Policy", "Retry-After")
_PREFLIGHT_CACHE_SECONDS = 600


def _path_pattern(templates: Iterable[str]) -> re.Pattern[str]:
    """Matches the paths of route templates such as /api/v1/recommendations/{user_id}."""
    return re.compile("|".join(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(t)) for t in templates))


class BrowserAccess(CORSMiddleware):
    """Starlette's CORS middleware, whose allowed origins are the configured ones, and, on the
    paths of `key_paths`, those `key_origins` returns (the origins of the publishable keys)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        origins: Iterable[str],
        key_origins: Callable[[], frozenset[str]] = frozenset,
        key_paths: Iterable[str] = (),
    ) -> None:
        super().__init__(
            app,
            allow_origins=tuple(origins),
            allow_methods=METHODS,
            allow_headers=HEADERS,
            expose_headers=EXPOSED,
            max_age=_PREFLIGHT_CACHE_SECONDS,
        )
        self.key_origins = key_origins
        self.key_paths = _path_pattern(key_paths) if key_paths else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")
        if origin is None or origin in self.allow_origins or self._for_keys(scope["path"], origin):
            await super().__call__(scope, receive, send)
            return
        await self.app(scope, receive, send)  # an origin allowed nowhere here: no CORS at all

    def is_allowed_origin(self, origin: str) -> bool:
        return origin in self.allow_origins or origin in self.key_origins()

    def _for_keys(self, path: str, origin: str) -> bool:
        paths = self.key_paths
        return paths is not None and paths.fullmatch(path) is not None and origin in self.key_origins()
