"""The embedded shape (`make run`): SQLite, no Redis, the projection worker in process."""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from tests.support.gateway import GatewayProcess, gateway_config, own_gateway


def embedded_gateway(
    workdir: Path, upstream_url: str, upstream_key: str, **sections: dict[str, Any]
) -> AbstractContextManager[GatewayProcess]:
    """A started gateway on a SQLite file in `workdir`; `sections` added to its configuration."""
    return own_gateway(
        "sqlite",
        workdir,
        functools.partial(gateway_config, upstream_url=upstream_url, upstream_key=upstream_key),
        admin_key="fradm-" + "e" * 40,
        upstream_key=upstream_key,
        **sections,
    )
