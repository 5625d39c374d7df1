"""Guarding the one place the gateway fetches a URL a client chose (images for Gemini):
no loopback, private, link-local or otherwise internal address unless allowed."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from domains.providers.errors import InvalidRequest


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", maxsplit=1)[0])
    return bool(
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def check_public_url(url: str) -> None:
    """Raises InvalidRequest unless `url` is http(s) and every address of its host is public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(f"The image URL {url[:200]} is not an http(s) URL.", param="messages")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname,
            parts.port or (443 if parts.scheme == "https" else 80),
            type=socket.SOCK_STREAM,
        )
    except OSError as error:
        raise InvalidRequest(
            f"The image host {parts.hostname[:200]} could not be resolved.", param="messages"
        ) from error
    if any(_internal(str(info[4][0])) for info in infos):
        raise InvalidRequest(
            f"The image URL {url[:200]} points at an internal address; the gateway only "
            "fetches public images.",
            param="messages",
        )
