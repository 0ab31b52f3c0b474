"""The API's documentation pages, /docs (Swagger UI) and /redoc (ReDoc), with their scripts,
styles and icon served by Relevo itself, so that they render on a machine without internet."""

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
# The fastapi-offline package ships the Swagger UI and ReDoc bundles that FastAPI's own pages
# would load from a CDN, refreshed with each of its releases.
ASSETS = files("fastapi_offline") / "static"
# The pages may load nothing from elsewhere: ReDoc's sidebar shows its maker's logo from their
# CDN, which this keeps the browser from asking for.
PAGE_POLICY = "default-src 'self' 'unsafe-inline' data: blob:"


def add_documentation_pages(app: FastAPI) -> None:
    """Adds /docs, its OAuth2 redirect page, /redoc and their assets to an app created with
    docs_url=None and redoc_url=None. None of them is in the OpenAPI document."""
    app.mount(ASSETS_URL, StaticFiles(directory=str(ASSETS)), name="docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=f"{root}{app.swagger_ui_oauth2_redirect_url}",
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
        page.headers["Content-Security-Policy"] = PAGE_POLICY
        return page

    async def swagger_ui_oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = PAGE_POLICY
        return page

    # Plain routes, as FastAPI adds its own pages: no parameters to parse, nothing to document.
    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    app.add_route(app.swagger_ui_oauth2_redirect_url, swagger_ui_oauth2_redirect, include_in_schema=False)
    app.add_route(REDOC_URL, redoc, include_in_schema=False)
