"""The embedded shape (`make run`): SQLite, no Redis, the projection worker in process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.gateway import GatewayProcess, gateway_config


@contextmanager
def embedded_gateway(
    workdir: Path, upstream_url: str, upstream_key: str, **sections: dict[str, Any]
) -> Iterator[GatewayProcess]:
    """A started gateway on a SQLite file in `workdir`; `sections` added to its configuration."""
    config = gateway_config(
        database_url=f"sqlite+aiosqlite:///{workdir / 'fluxrouter.db'}",
        redis_url=None,
        upstream_url=upstream_url,
        upstream_key=upstream_key,
    )
    config.update(sections)
    process = GatewayProcess(
        workdir, config, admin_key="fradm-" + "e" * 40, upstream_key=upstream_key
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()
