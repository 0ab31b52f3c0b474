"""The JavaScript snippet storefronts include (static/relevo.js, docs/browser.md), served at /relevo.js."""

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import Response

SCRIPT_URL = "/relevo.js"
_SCRIPT = files("relevo.server") / "static" / "relevo.js"
_CACHE_SECONDS = 300  # a new release's script reaches pages within minutes


def add_browser_script(app: FastAPI) -> None:
    """Adds GET /relevo.js, outside the OpenAPI document, as the documentation pages are."""
    script = _SCRIPT.read_bytes()

    async def relevo_js(request: Request) -> Response:
        return Response(
            script,
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": f"public, max-age={_CACHE_SECONDS}", "X-Content-Type-Options": "nosniff"},
        )

    app.add_route(SCRIPT_URL, relevo_js, include_in_schema=False)
