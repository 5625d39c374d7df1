"""`outbound`: what the gateway fetches from URLs others chose."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from infrastructure.net.addresses import allow_entry_problem
from infrastructure.settings.rules import Invalid, quote


class ImageFetchSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The images a request names by URL and the gateway downloads (Gemini takes bytes inline)."""

    max_bytes: Annotated[int, Meta(ge=1, le=1 << 30)] = 20 * 1024 * 1024
    """One image larger than this is refused (400)."""
    max_total_bytes: Annotated[int, Meta(ge=1, le=1 << 32)] = 20 * 1024 * 1024
    """The images of one request together (Gemini takes 20 MB of inline data a request)."""
    max_per_request: Annotated[int, Meta(ge=0, le=10_000)] = 16
    """Image URLs one request may name."""
    concurrent_per_request: Annotated[int, Meta(ge=1, le=1000)] = 4
    """Downloads one request runs at once."""
    concurrent: Annotated[int, Meta(ge=1, le=10_000)] = 16
    """Downloads the serving process runs at once, for all requests together."""


class OutboundSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What the gateway fetches from URLs others chose (OIDC issuers, the endpoints their
    discovery names, image URLs): internal addresses are refused and https is required unless
    the address or host is on `allow`."""

    allow: list[str] = msgspec.field(default_factory=list)
    """Addresses, networks (CIDR) and host names fetched from although internal, and over
    plain http: `127.0.0.1` for an identity provider on the same machine."""
    images: ImageFetchSettings = msgspec.field(default_factory=ImageFetchSettings)

    def __post_init__(self) -> None:
        for index, entry in enumerate(self.allow):
            wrong = allow_entry_problem(entry)
            if wrong is not None:
                raise Invalid(f"allow[{index}]", f"{wrong}, got {quote(entry)}")
