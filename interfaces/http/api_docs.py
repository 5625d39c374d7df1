"""The API documentation pages under /schema (Redoc at /schema and /schema/redoc, Swagger UI at
/schema/swagger, the document at /schema/openapi.json and .yaml), with every script, style sheet
and image served by the gateway itself from the `openapi-ui-bundles` package: nothing is loaded
from a CDN, so the pages work on an air-gapped install."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    RedocRenderPlugin,
    SwaggerRenderPlugin,
    YamlRenderPlugin,
)
from openapi_ui_bundles import redoc, swagger_ui

ASSETS = "/schema/assets"
_REDOC_LOGO_CDN = b"https://cdn.redoc.ly/redoc/logo-mini.svg"

# name -> (file, media type); only these are served
_FILES: dict[str, tuple[Path, str]] = {
    "redoc.standalone.js": (redoc.static_path / "redoc.standalone.js", "text/javascript"),
    "redoc-logo-mini.svg": (redoc.static_path / "logo-mini.svg", "image/svg+xml"),
    "swagger-ui-bundle.js": (swagger_ui.static_path / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui-standalone-preset.js": (
        swagger_ui.static_path / "swagger-ui-standalone-preset.js",
        "text/javascript",
    ),
    "swagger-ui.css": (swagger_ui.static_path / "swagger-ui.css", "text/css"),
    "favicon.png": (swagger_ui.static_path / "favicon-32x32.png", "image/png"),
}
FAVICON = f"<link rel='icon' type='image/png' href='{ASSETS}/favicon.png'>"


def render_plugins() -> list[OpenAPIRenderPlugin]:
    return [
        RedocRenderPlugin(
            path=["/", "/redoc"],
            js_url=f"{ASSETS}/redoc.standalone.js",
            google_fonts=False,  # Redoc falls back to the system's fonts
            favicon=FAVICON,
        ),
        SwaggerRenderPlugin(
            js_url=f"{ASSETS}/swagger-ui-bundle.js",
            css_url=f"{ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
            favicon=FAVICON,
        ),
        JsonRenderPlugin(),
        YamlRenderPlugin(),
    ]


@cache
def _asset(name: str) -> tuple[bytes, str]:
    path, media_type = _FILES[name]
    content = path.read_bytes()
    if name == "redoc.standalone.js":  # the logo at the foot of Redoc's menu, from here too
        content = content.replace(_REDOC_LOGO_CDN, f"{ASSETS}/redoc-logo-mini.svg".encode())
    return content, media_type


@get(f"{ASSETS}/{{name:str}}", include_in_schema=False, sync_to_thread=False)
def api_docs_asset(name: str) -> Response[bytes]:
    if name not in _FILES:
        raise NotFoundException(f"no asset {name!r}")
    content, media_type = _asset(name)
    return Response(
        content,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )
