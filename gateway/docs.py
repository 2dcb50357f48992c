"""/docs served from this host: Swagger UI's assets come from the `swagger-ui-bundle` package
(FastAPI's "self-hosting JavaScript and CSS for docs" recipe), not from a CDN, so the docs
page loads no third-party code. ReDoc, which only loads from a CDN, is not offered."""

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs/assets"


def install_docs(app: FastAPI) -> None:
    """Replace FastAPI's CDN-based /docs and /redoc with a self-hosted Swagger UI."""
    cdn_pages = {app.docs_url, app.redoc_url}
    app.router.routes[:] = [
        route for route in app.router.routes if getattr(route, "path", None) not in cdn_pages
    ]

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
            init_oauth=app.swagger_ui_init_oauth,
        )

    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")
    app.add_api_route("/docs", swagger_ui, include_in_schema=False)
