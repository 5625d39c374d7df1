"""Whether the database and Redis answer: what `/readyz` reports."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def readiness_checks(engine: AsyncEngine, redis_url: str | None) -> dict[str, str]:
    """ "ok", or "unreachable (<error class>)", for the database and (when configured) Redis.
    Never raises: a failure is what is reported."""
    checks: dict[str, str] = {}
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # reported, not raised: the probe reports failure
        checks["database"] = f"unreachable ({type(error).__name__})"
    if redis_url:
        import redis.asyncio as aioredis  # imported where Redis is configured

        client = aioredis.from_url(redis_url, socket_timeout=2)
        try:
            await client.ping()
            checks["redis"] = "ok"
        except Exception as error:
            checks["redis"] = f"unreachable ({type(error).__name__})"
        finally:
            await client.aclose()
    return checks
