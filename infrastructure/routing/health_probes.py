"""Active health probes (`routing.health_probes`): a background task asks each deployment now
and then whether it is up, and feeds the answer into its circuit
(`domains.providers.routing.probe.apply_probe`), so that a dead deployment is skipped before a
caller's request finds it, and a healed one is back without waiting for one.

A probe is the cheapest honest question: the provider's model list (`models`: one call per
provider and key, standing for every deployment of that provider), or a one-token completion of
the deployment's model (`completion`). It goes straight to the provider's client: no tenant, no
admission, no usage row.

With several replicas sharing Redis, each probe target has a lease (`SET NX PX`, one interval
long): the replica that takes it probes, and writes what it found in one hash every replica
reads, so each deployment is probed about once an interval whatever the number of replicas, and
all of them apply every result. A Redis that does not answer leaves each replica probing alone
until it is back. Without Redis, the replica probes alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec
import structlog

from application.providers.routing.router import Router
from application.shared.tasks import cancel_and_wait
from domains.providers.errors import UpstreamError
from domains.providers.model import WILDCARD
from domains.providers.ports import ProviderClient
from domains.providers.routing.deployment import DeploymentState
from domains.providers.routing.failover import counts_against_circuit
from domains.providers.routing.probe import ProbeOutcome, apply_probe
from domains.shared.ids import new_id
from infrastructure.redis_errors import is_redis_unavailable
from infrastructure.settings.routing_probes import HealthProbeSettings, ProbeKind

if TYPE_CHECKING:
    import redis.asyncio as aioredis

log = structlog.get_logger("fluxrouter.routing")

TICK_MOST = 0.5
"""Seconds between two looks at the shared results (and the leases), at most."""


@dataclass(slots=True)
class Target:
    """What one probe asks: a provider's model list, or one deployment's completion; and the
    deployments its answer stands for."""

    key: str
    kind: ProbeKind
    provider: str
    upstream: str
    states: list[DeploymentState] = field(default_factory=list)


class _Shared(msgspec.Struct, array_like=True):
    at: float
    ok: bool
    seconds: float
    detail: str
    replica: str


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_Shared).decode


def probe_targets(router: Router, settings: HealthProbeSettings) -> dict[str, Target]:
    """Every deployment's probe target (the deployments of one provider probed by their model
    list share one)."""
    targets: dict[str, Target] = {}
    for state in router.states():
        route = state.deployment.route
        kind = settings.kind_for(route.provider, route.name)
        if kind == "off":
            continue
        if kind == "completion" and route.name != WILDCARD:
            key = f"completion:{state.name}"
            upstream = route.upstream
        else:  # a wildcard names no model to complete: its provider's list stands for it
            key, kind, upstream = f"models:{route.provider}", "models", ""
        target = targets.get(key)
        if target is None:
            target = targets[key] = Target(key, kind, route.provider, upstream)
        target.states.append(state)
    return targets


class HealthProber:
    def __init__(
        self,
        router: Router,
        clients: Mapping[str, ProviderClient],
        settings: HealthProbeSettings,
        *,
        redis_url: str | None = None,
        namespace: str = "fluxrouter",
        replica: str = "",
    ) -> None:
        self._router = router
        self._clients = clients
        self._settings = settings
        self._every = settings.interval_seconds
        self._targets = probe_targets(router, settings)
        self._url = redis_url
        self._prefix = f"{namespace}:routing:probes"
        self._id = replica or new_id()
        self._client: aioredis.Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._last: dict[str, float] = {}
        """When each target's latest result applied here was found (wall clock)."""
        self._outage = False

    def start(self) -> None:
        if not self._targets:
            return
        if self._url is not None:
            import redis.asyncio as aioredis  # only where Redis is configured

            self._client = aioredis.from_url(self._url, decode_responses=True, socket_timeout=2)
        self._task = asyncio.create_task(self._run(), name="routing-health-probes")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        tick = min(self._every, TICK_MOST)
        while True:
            try:
                await self.round()
            except Exception:
                log.exception("routing.health_probes_failed")
            await asyncio.sleep(tick)

    async def round(self) -> None:
        """Probes the targets due (whose lease this replica took), applies what they found and
        what the other replicas found."""
        wall = time.time()
        due = [
            key for key in self._targets if wall - self._last.get(key, 0.0) >= self._every * 0.95
        ]
        if self._client is None:
            await self._probe_all(due)
            return
        try:
            taken = await self._leases(due)
        except Exception as error:
            self._redis_failed(error)
            await self._probe_all(due)  # alone until Redis is back
            return
        found = await self._probe_all(taken)
        try:
            await self._share(found)
        except Exception as error:
            self._redis_failed(error)
            return
        if self._outage:
            log.info("routing.health_probes_shared_again")
            self._outage = False

    async def _probe_all(self, keys: list[str]) -> dict[str, ProbeOutcome]:
        outcomes = await asyncio.gather(*(self._probe(self._targets[key]) for key in keys))
        found = dict(zip(keys, outcomes, strict=True))
        for key, outcome in found.items():
            self._apply(key, outcome)
        return found

    def _apply(self, key: str, outcome: ProbeOutcome) -> None:
        target = self._targets[key]
        if outcome.at <= self._last.get(key, 0.0):
            return
        self._last[key] = outcome.at
        now = self._router.clock()
        for state in target.states:
            apply_probe(state, outcome, now)
        if not outcome.ok:
            log.warning(
                "routing.probe_failed",
                target=key,
                reason=outcome.detail,
                deployments=[state.name for state in target.states],
            )

    async def _probe(self, target: Target) -> ProbeOutcome:
        settings = self._settings
        started = time.monotonic()
        ok, detail = True, ""
        try:
            client = self._clients[target.provider]
            async with asyncio.timeout(settings.timeout_seconds):
                if target.kind == "completion":
                    body = {
                        "model": target.upstream,
                        "messages": [{"role": "user", "content": settings.prompt}],
                        "max_tokens": 1,
                    }
                    await client.chat(body, target.upstream)
                else:
                    await client.list_models()
        except TimeoutError:
            ok, detail = False, "timeout"
        except UpstreamError as error:
            # a request refused as a request (400) was answered: the deployment is up
            if counts_against_circuit(error.condition):
                status = error.upstream_status or error.status
                ok, detail = False, f"{error.condition.value} (HTTP {status})"
        except Exception as error:  # whatever else: the probe did not get an answer
            ok, detail = False, type(error).__name__
        return ProbeOutcome(
            at=time.time(),
            ok=ok,
            seconds=round(time.monotonic() - started, 3),
            detail=detail,
            replica=self._id,
        )

    async def _leases(self, keys: list[str]) -> list[str]:
        """The targets whose lease for this interval this replica took."""
        client = self._client
        assert client is not None
        if not keys:
            return []
        lease = max(int(self._every * 950), 100)
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.set(f"{self._prefix}:lease:{key}", self._id, nx=True, px=lease)
        taken = await pipe.execute()
        return [key for key, took in zip(keys, taken, strict=True) if took]

    async def _share(self, found: Mapping[str, ProbeOutcome]) -> None:
        """This replica's results out, the others' in."""
        client = self._client
        assert client is not None
        results = f"{self._prefix}:results"
        pipe = client.pipeline(transaction=False)
        if found:
            pipe.hset(
                results,
                mapping={
                    key: _encode(
                        _Shared(
                            outcome.at, outcome.ok, outcome.seconds, outcome.detail, outcome.replica
                        )
                    ).decode()
                    for key, outcome in found.items()
                },
            )
            pipe.pexpire(results, max(int(self._every * 10_000), 60_000))
        pipe.hgetall(results)
        table: dict[str, str] = (await pipe.execute())[-1]
        for key, value in table.items():
            if key not in self._targets:
                continue
            try:
                shared = _decode(value)
            except msgspec.DecodeError:
                continue
            if shared.replica != self._id:
                self._apply(
                    key,
                    ProbeOutcome(
                        shared.at, shared.ok, shared.seconds, shared.detail, shared.replica
                    ),
                )

    def _redis_failed(self, error: Exception) -> None:
        if not is_redis_unavailable(error):
            log.exception("routing.health_probes_shared_failed")
        elif not self._outage:
            log.warning("routing.health_probes_unshared")
            self._outage = True
