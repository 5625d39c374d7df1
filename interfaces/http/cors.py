"""CORS for browser clients: off unless `server.cors_origins` names the origins allowed.

Off, nothing is added to a request's path. On, Litestar's CORS middleware answers preflights
(OPTIONS with an Origin) for every path and adds the CORS headers to answers for an allowed
origin; chat completions then go through Litestar's router too, where that middleware is, not
the direct path beside it."""

from __future__ import annotations

from litestar.config.cors import CORSConfig

# What a browser client may read of an answer, beside the CORS-safelisted headers.
EXPOSED_HEADERS = [
    "x-request-id",
    "retry-after",
    "retry-after-ms",
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
]
PREFLIGHT_MAX_AGE = 600  # seconds a browser may keep a preflight's answer


def cors_config(origins: list[str]) -> CORSConfig | None:
    """The configuration for `origins` (["*"]: any), or None when the list is empty (off).
    Credentials (cookies) are not allowed: the APIs take a bearer key in a header."""
    if not origins:
        return None
    return CORSConfig(
        allow_origins=list(origins),
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=PREFLIGHT_MAX_AGE,
    )
