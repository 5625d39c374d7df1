"""The Gemini routes in the OpenAPI document, one path per method
(`/v1beta/models/{model}:generateContent`...), with their bodies' JSON Schemas from
`schemas`; and `GeminiApiPlugin`, which mounts the routes and adds these paths.

One Litestar route serves every method (the method follows a colon inside a path segment, which
Litestar cannot route on), so the paths are written into the document once the application has
built it, as the server starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import msgspec
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.enums import ParamType
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    PathItem,
    Reference,
    RequestBody,
    Schema,
)
from litestar.plugins import InitPlugin

from interfaces.http.gemini import models_routes, routes, schemas
from interfaces.http.gemini.paths import PREFIXES

TAG = "Gemini"
_REF = "#/components/schemas/{name}"


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    summary: str
    request: type[msgspec.Struct]
    answer: type[msgspec.Struct]
    description: str
    stream: bool = False


METHODS = (
    Method(
        "generateContent",
        "Generate content (Gemini API), with any model behind the gateway",
        schemas.GenerateContentRequest,
        schemas.GenerateContentResponse,
        "To a Gemini model the body passes as it is and the answer comes back as Google sent it; "
        "any other model's answer is translated from OpenAI chat.",
    ),
    Method(
        "streamGenerateContent",
        "Generate content as a stream (Gemini API)",
        schemas.GenerateContentRequest,
        schemas.GenerateContentResponse,
        "With `alt=sse`, Server-Sent Events, one `GenerateContentResponse` each; without it, a "
        "JSON array of them, written as they come.",
        stream=True,
    ),
    Method(
        "countTokens",
        "Count the tokens of a request (Gemini API)",
        schemas.CountTokensRequest,
        schemas.CountTokensResponse,
        "A Gemini model's own count; for any other model, the gateway's estimate (the tokens "
        "its budgets would reserve for the prompt).",
    ),
    Method(
        "embedContent",
        "Embed a content (Gemini API)",
        schemas.EmbedContentRequest,
        schemas.EmbedContentResponse,
        "Through the model's embeddings, whatever its provider.",
    ),
    Method(
        "batchEmbedContents",
        "Embed several contents (Gemini API)",
        schemas.BatchEmbedContentsRequest,
        schemas.BatchEmbedContentsResponse,
        "One vector per request, in their order; every request asks for the same "
        "`outputDimensionality`.",
    ),
)
_ERRORS = {
    "400": "INVALID_ARGUMENT: a malformed body or a field out of range",
    "401": "UNAUTHENTICATED: no key, or an unknown or revoked one",
    "403": "PERMISSION_DENIED: the key may not use the model",
    "404": "NOT_FOUND: an unknown model or method",
    "429": "RESOURCE_EXHAUSTED: a budget, a rate limit or the upstream refused (Retry-After)",
}


def _ref(struct: type[msgspec.Struct]) -> Reference:
    return Reference(ref=_REF.format(name=struct.__name__))


def _operation(method: Method) -> Operation:
    parameters = [
        Parameter(
            name="model",
            param_in=ParamType.PATH,
            required=True,
            schema=Schema(type=OpenAPIType.STRING),
            description="A model this key may use: its name, or `provider/name`.",
        )
    ]
    if method.stream:
        parameters.append(
            Parameter(
                name="alt",
                param_in=ParamType.QUERY,
                required=False,
                schema=Schema(type=OpenAPIType.STRING, enum=["sse"]),
                description="`sse` for Server-Sent Events (what the google-genai SDK asks for).",
            )
        )
    media = "text/event-stream" if method.stream else "application/json"
    responses = {
        "200": OpenAPIResponse(
            description="The answer", content={media: OpenAPIMediaType(schema=_ref(method.answer))}
        ),
        **{
            status: OpenAPIResponse(
                description=text,
                content={"application/json": OpenAPIMediaType(schema=_ref(schemas.GoogleError))},
            )
            for status, text in _ERRORS.items()
        },
    }
    return Operation(
        tags=[TAG],
        summary=method.summary,
        description=method.description
        + " The virtual key goes in `x-goog-api-key`, `?key=` or `Authorization: Bearer`; the "
        "path may start with `/v1/` as well.",
        operation_id=f"gemini_{method.name}",
        parameters=cast(Any, parameters),
        request_body=RequestBody(
            content={"application/json": OpenAPIMediaType(schema=_ref(method.request))},
            required=True,
        ),
        responses=cast(Any, responses),
    )


def describe(openapi: OpenAPI) -> None:
    """Adds the Gemini methods' paths, and their schemas, to `openapi`."""
    structs: list[type[msgspec.Struct]] = [schemas.GoogleError]
    for method in METHODS:
        structs += [method.request, method.answer]
    _, components = msgspec.json.schema_components(structs, ref_template=_REF)
    known = openapi.components.schemas
    if known is None:
        openapi.components.schemas = known = {}
    known.update({name: cast(Any, schema) for name, schema in components.items()})
    for method in METHODS:
        path = f"{PREFIXES[0]}{{model}}:{method.name}"
        openapi.paths = {**(openapi.paths or {}), path: PathItem(post=_operation(method))}


class GeminiApiPlugin(InitPlugin):
    """Mounts the Gemini routes, and describes them in the OpenAPI document once it is built."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.extend([*routes.ROUTES, *models_routes.ROUTES])
        app_config.on_startup.append(_describe)
        return app_config


def _describe(app: Litestar) -> None:
    describe(app.openapi_schema)
