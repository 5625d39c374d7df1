"""The routing state replicas share through Redis: each deployment's use of its rate window
(calls and tokens in the last minute) and its open circuit, so that a pool of keys is not
overrun by several replicas together and a deployment one replica found broken is kept out of
rotation by all.

Nothing of it is on a request's path: every `shared_state_seconds` each replica writes what it
sees (one hash of its own, expiring when it stops writing) and reads the others', and the
router's memory takes what they saw (`RateWindow.elsewhere_*`, and
`CircuitBreaker.open_until_at_least`).
A choice is made from that memory, so it may be up to one interval behind the other replicas;
a Redis that does not answer leaves each replica with its own view until it is back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import structlog

from application.providers.routing.router import Router
from application.shared.tasks import cancel_and_wait
from domains.providers.routing.breaker import CircuitState
from domains.providers.routing.deployment import DeploymentState
from domains.shared.ids import new_id
from infrastructure.redis_errors import is_redis_unavailable

if TYPE_CHECKING:
    import redis.asyncio as aioredis

log = structlog.get_logger("fluxrouter.routing")


class SharedRoutingState:
    def __init__(
        self, router: Router, url: str, namespace: str, every: float, *, replica: str = ""
    ) -> None:
        self._router = router
        self._url = url
        self._prefix = f"{namespace}:routing"
        self._every = every
        self._id = replica or new_id()
        self._ttl = max(every * 4, 2.0)
        self._client: aioredis.Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._outage = False

    def start(self) -> None:
        import redis.asyncio as aioredis  # only where Redis is configured

        self._client = aioredis.from_url(self._url, decode_responses=True, socket_timeout=2)
        self._task = asyncio.create_task(self._run(), name="routing-shared-state")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        if self._client is not None:
            try:
                await self._client.delete(f"{self._prefix}:replica:{self._id}")
            except Exception:  # stopping: a Redis gone changes nothing
                log.debug("routing.shared_state_not_cleared")
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while True:
            try:
                await self.sync()
                if self._outage:
                    log.info("routing.shared_state_back")
                    self._outage = False
            except Exception as error:
                if not is_redis_unavailable(error):
                    log.exception("routing.shared_state_failed")
                elif not self._outage:
                    log.warning("routing.shared_state_unavailable")
                    self._outage = True
            await asyncio.sleep(self._every)

    def _mine(self) -> dict[str, str]:
        """What this replica saw: `calls tokens open-until` (wall clock) by deployment."""
        router = self._router
        now, wall = router.clock(), time.time()
        mine = {}
        for state in router.states():
            deployment, breaker = state.deployment, state.breaker
            requests = tokens = 0
            if deployment.rpm is not None or deployment.tpm is not None:
                requests, tokens = state.window.used(now)
            open_until = 0.0
            if breaker.current(now) is CircuitState.OPEN:
                open_until = wall + breaker.open_until - now
            if requests or tokens or open_until:
                mine[state.name] = f"{requests} {tokens} {open_until:.3f}"
        return mine

    async def sync(self) -> None:
        client = self._client
        assert client is not None
        key = f"{self._prefix}:replica:{self._id}"
        replicas = f"{self._prefix}:replicas"
        mine = self._mine()
        wall = time.time()
        pipe = client.pipeline(transaction=False)
        pipe.delete(key)
        if mine:
            pipe.hset(key, mapping=cast("Mapping[Any, Any]", mine))
            pipe.pexpire(key, int(self._ttl * 1000))
        pipe.zadd(replicas, {self._id: wall})
        pipe.zremrangebyscore(replicas, "-inf", wall - 3600)
        pipe.zrangebyscore(replicas, wall - self._ttl, "+inf")
        alive = (await pipe.execute())[-1]
        others = [replica for replica in alive if replica != self._id]
        tables: list[dict[str, str]] = []
        if others:
            pipe = client.pipeline(transaction=False)
            for replica in others:
                pipe.hgetall(f"{self._prefix}:replica:{replica}")
            tables = await pipe.execute()
        self.take(tables)

    def take(self, tables: list[dict[str, str]]) -> None:
        """The other replicas' views, into this one's memory."""
        used: dict[str, tuple[int, int]] = {}
        opened: dict[str, float] = {}
        for table in tables:
            for name, value in table.items():
                try:
                    calls_seen, tokens_seen, until_seen = value.split(" ")
                    before = used.get(name, (0, 0))
                    used[name] = (before[0] + int(calls_seen), before[1] + int(tokens_seen))
                    opened[name] = max(opened.get(name, 0.0), float(until_seen))
                except ValueError:
                    continue
        router = self._router
        now, wall = router.clock(), time.time()
        for state in router.states():
            calls, tokens = used.get(state.name, (0, 0))
            state.window.elsewhere_requests = calls
            state.window.elsewhere_tokens = tokens
            until = opened.get(state.name, 0.0)
            if until > wall and not _probed_up_since(state, until):
                state.breaker.open_until_at_least(now + until - wall)


def _probed_up_since(state: DeploymentState, until: float) -> bool:
    """Whether a health probe found the deployment up after another replica opened its circuit
    (open until `until`, wall clock): that replica's circuit is closed by the same probe soon,
    and is not to reopen this one meanwhile."""
    probe = state.last_probe
    return probe is not None and probe.ok and probe.at >= until - state.breaker.policy.cooldown
