"""What SCIM requests are served with, loaded apart from the app: scim2's models and protocol
engine take about a second to import, so a serving process answers before they are loaded
(`load_in_background`, once the app has started), and a SCIM request that comes first waits
for them in a thread (`scim_engine`), never on the event loop."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from scim2_models import SCIMException
    from scim2_server.requests import ScimRequest
    from scim2_server.service import ScimService

    from interfaces.http.scim.handler import GatewayScimHandler
    from interfaces.http.scim.storage import OrgStorage

log = structlog.get_logger("fluxrouter.scim")


@dataclass(frozen=True, slots=True)
class ScimEngine:
    """The protocol engine, and the scim2 and gateway names the SCIM routes use."""

    service: ScimService
    request: type[ScimRequest]
    handler: type[GatewayScimHandler]
    storage: type[OrgStorage]
    error: type[SCIMException]
    too_large: type[SCIMException]
    unauthorized: type[SCIMException]


_loaded: list[ScimEngine] = []
_loading = threading.Lock()


def load() -> ScimEngine:
    """Imports and builds the engine once per process (other callers wait for that one)."""
    with _loading:
        if not _loaded:
            from scim2_models import PayloadTooLargeException, SCIMException, UnauthorizedException
            from scim2_server.requests import ScimRequest

            from interfaces.http.scim.handler import GatewayScimHandler
            from interfaces.http.scim.provider import build_service
            from interfaces.http.scim.storage import OrgStorage

            _loaded.append(
                ScimEngine(
                    service=build_service(),
                    request=ScimRequest,
                    handler=GatewayScimHandler,
                    storage=OrgStorage,
                    error=SCIMException,
                    too_large=PayloadTooLargeException,
                    unauthorized=UnauthorizedException,
                )
            )
    return _loaded[0]


async def scim_engine() -> ScimEngine:
    """The engine, loaded in a thread if it is not yet."""
    if _loaded:
        return _loaded[0]
    return await asyncio.to_thread(load)


def load_in_background() -> threading.Thread:
    thread = threading.Thread(target=_load_logged, name="scim-load", daemon=True)
    thread.start()
    return thread


def _load_logged() -> None:
    try:
        load()
    except Exception:  # the first SCIM request loads it again, and answers what fails
        log.warning("scim.load_failed", exc_info=True)
