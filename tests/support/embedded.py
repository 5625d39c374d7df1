"""The embedded shape (`make run`): SQLite, no Redis, the projection worker in process."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from tests.support.gateway import GatewayProcess, gateway_config, own_gateway


def embedded_gateway(
    workdir: Path, upstream_url: str, upstream_key: str, **sections: dict[str, Any]
) -> AbstractContextManager[GatewayProcess]:
    """A started gateway on a SQLite file in `workdir`; `sections` added to its configuration."""

    def make_config(database_url: str, redis_url: str | None) -> dict[str, Any]:
        config = gateway_config(
            database_url=database_url,
            redis_url=redis_url,
            upstream_url=upstream_url,
            upstream_key=upstream_key,
        )
        config.update(sections)
        return config

    return own_gateway(
        "sqlite", workdir, make_config, admin_key="fradm-" + "e" * 40, upstream_key=upstream_key
    )
