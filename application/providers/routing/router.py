"""The router: which deployment of the requested model answers a call, and, when a call fails,
what is tried next (`Failover`, one per request that needed one).

The choice reads only this process's memory (`DeploymentState`s: calls in flight, latency, rate
windows, circuits), so it costs microseconds and no I/O; what other replicas saw reaches that
memory in the background (`infrastructure.routing.shared_state`). A model with one deployment,
available, is answered without any choice at all.

How each deployment reads from outside (`GET /admin/v1/providers/health`, `/metrics`) is in
`health`. Over 300 lines on purpose: the `Router` makes each `Failover`, and a `Failover` picks
in the router's `Group`s; apart, the two modules would import each other.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from application.providers.routing.policy import RoutingPolicy
from domains.providers.errors import ModelNotAllowed, UnknownModel, UpstreamError
from domains.providers.model import WILDCARD, ModelRoute
from domains.providers.routing.breaker import CircuitState
from domains.providers.routing.deployment import Deployment, DeploymentState
from domains.providers.routing.failover import RETRY, Retry, backoff, retry_after_seconds
from domains.providers.routing.selection import Strategy, choose
from domains.providers.upstream_failures import Condition
from domains.shared.caller import Caller

PROVIDER_HEADER = "x-fluxrouter-provider"
MODEL_HEADER = "x-fluxrouter-model"
ROUTE_HEADER = "x-fluxrouter-route"


def ascii_header(text: str) -> str:
    """`text` as a header value may carry it (ASCII, `?` for what is not)."""
    return text.encode("ascii", "replace").decode("ascii")


class Group:
    """What a requested name routes to: every deployment of a bare model name, or the one a
    `provider/name` pins."""

    __slots__ = ("headers", "label", "model", "single", "states", "strategy")

    def __init__(
        self, model: str, states: Sequence[DeploymentState], strategy: Strategy, pinned: bool
    ) -> None:
        self.model = model
        self.states = tuple(states)
        self.strategy: Strategy = strategy
        self.label = "pinned" if pinned else (strategy if len(states) > 1 else "only")
        self.single = self.states[0] if len(self.states) == 1 else None
        self.headers: dict[str, Mapping[str, str]] = {
            state.name: headers_for(state, f"{self.label} {state.name}") for state in self.states
        }

    def allowed(self, caller: Caller) -> list[DeploymentState]:
        return [
            state
            for state in self.states
            if caller.may_use(state.deployment.route.name, state.name)
        ]


def headers_for(state: DeploymentState, route: str) -> Mapping[str, str]:
    return route_headers(state.deployment.route, route)


def route_headers(served: ModelRoute, route: str) -> Mapping[str, str]:
    """The `x-fluxrouter-*` headers of an answer `served` gave, routed as `route` says."""
    return {
        PROVIDER_HEADER: served.provider,
        MODEL_HEADER: ascii_header(served.name),
        ROUTE_HEADER: ascii_header(route),
    }


class Router:
    def __init__(
        self,
        deployments: Iterable[Deployment],
        policy: RoutingPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self.clock = clock
        self.rand = rand
        self._states: dict[str, DeploymentState] = {}
        by_model: dict[str, list[DeploymentState]] = {}
        for deployment in deployments:
            state = DeploymentState(deployment, policy.breaker)
            self._states[state.name] = state
            if deployment.route.name != WILDCARD:  # reached by `provider/<name>`, not by `*`
                by_model.setdefault(deployment.route.name, []).append(state)
        self._groups: dict[str, Group] = {}
        for model, states in by_model.items():
            strategy = policy.strategies.get(model, policy.strategy)
            self._groups[model] = Group(model, states, strategy, pinned=False)
        for name, state in self._states.items():
            if state.deployment.route.name == WILDCARD:
                continue
            strategy = policy.strategies.get(name, policy.strategy)
            self._groups.setdefault(name, Group(name, [state], strategy, pinned=True))

    def states(self) -> list[DeploymentState]:
        return list(self._states.values())

    def state(self, name: str) -> DeploymentState | None:
        return self._states.get(name)

    def routes(self, requested: str) -> tuple[DeploymentState, ...]:
        """The deployments `requested` routes to (none: a name only a wildcard may take)."""
        group = self._groups.get(requested)
        return group.states if group is not None else ()

    def adopt(self, route: ModelRoute) -> DeploymentState:
        """A state for a deployment the router was not built with."""
        state = self._states.get(route.qualified_name)
        if state is None:
            state = self._states[route.qualified_name] = DeploymentState(
                Deployment(route), self.policy.breaker
            )
        return state

    def group(self, requested: str) -> Group:
        group = self._groups.get(requested)
        if group is None:
            raise UnknownModel(requested)
        return group

    def first(
        self,
        caller: Caller,
        requested: str,
        *,
        stream: bool = False,
        permits: Callable[[ModelRoute], bool] | None = None,
    ) -> DeploymentState:
        """The deployment the call goes to first: refuses a model the caller may not use, and
        answers 429 (every deployment at its rate limit) or 503 (every circuit open) when none
        of the model's, nor of its fallbacks', is available. `permits`: whether the routing
        policies let a deployment serve this request (None: any may)."""
        group = self.group(requested)
        single = group.single
        if single is not None and permits is None:
            route = single.deployment.route
            if not caller.may_use(route.name, route.qualified_name):
                raise ModelNotAllowed(requested)
            if (
                single.window.rpm is None
                and single.window.tpm is None
                and single.breaker.state is CircuitState.CLOSED
                and single.cooling_until == 0.0
            ):
                return single
            states = [single]
        else:
            states = group.allowed(caller)
            if not states:
                raise ModelNotAllowed(requested)
            if permits is not None:
                states = [state for state in states if permits(state.deployment.route)]
        now = self.clock()
        chosen = choose(states, group.strategy, now, self.rand, stream=stream)
        if chosen is not None:
            return chosen
        for fallback in self.policy.fallbacks.get(requested, ()):
            other = self._groups.get(fallback)
            if other is None:
                continue
            candidates = other.allowed(caller)
            if permits is not None:
                candidates = [state for state in candidates if permits(state.deployment.route)]
            chosen = choose(candidates, other.strategy, now, self.rand, stream=stream)
            if chosen is not None:
                return chosen
        # cooling down after an upstream 429 is no reason to refuse when nothing else can
        # answer: the upstream says again whether it has room, and its Retry-After
        cooling = [state for state in states if state.available_but_cooling(now)]
        if cooling:
            return min(cooling, key=lambda state: state.cooling_until)
        error = unavailable(requested, states, now)
        fallbacks = self.policy.fallbacks.get(requested, ())
        nor = f", nor of {', '.join(fallbacks)}" if fallbacks else ""
        error.route_headers = {
            ROUTE_HEADER: ascii_header(f"no answer; no deployment of {requested} available{nor}")
        }
        raise error

    def headers(self, requested: str, state: DeploymentState) -> Mapping[str, str]:
        """The `x-fluxrouter-*` headers of an answer served by `state` at the first try."""
        group = self._groups.get(requested)
        found = group.headers.get(state.name) if group is not None else None
        if found is not None:
            return found
        return headers_for(
            state, f"fallback {state.name}; every deployment of {requested} unavailable"
        )

    def failover(
        self,
        caller: Caller,
        requested: str,
        first: DeploymentState,
        *,
        stream: bool,
        began: float | None = None,
        permits: Callable[[ModelRoute], bool] | None = None,
    ) -> Failover:
        """`began`: when the request's first attempt started (the deadline counts from it);
        `permits`: whether the routing policies let a deployment serve the request."""
        return Failover(self, caller, requested, first, stream=stream, began=began, permits=permits)

    def refusal_fallbacks(self, model: str, state: DeploymentState) -> tuple[str, ...]:
        """The models that answer when `model` (served by `state`) refuses a request for its
        content (`content_policy_fallbacks`, for the model asked for, else the deployment's
        `provider/name`, else its model; none: the refusal is the answer)."""
        table = self.policy.content_policy_fallbacks
        if not table:
            return ()
        return (
            table.get(model) or table.get(state.name) or table.get(state.deployment.route.name, ())
        )

    def stream_idle(self, provider: str) -> float | None:
        return self.policy.stream_idle.get(provider)


def unavailable(requested: str, states: Sequence[DeploymentState], now: float) -> UpstreamError:
    """No deployment of `requested` can take a call now: 429 when they are at their rate limits
    or cooling down after one, else 503 (their circuits are open); `Retry-After` says when the
    first may be back."""
    wait = min((state.unavailable_for(now) for state in states), default=1.0)
    limited = any(now < state.cooling_until or not state.window.has_room(now) for state in states)
    seconds = max(1, int(wait + 0.999))
    if limited:
        return UpstreamError(
            Condition.RATE_LIMITED,
            f"Every deployment of the model `{requested}` is at its rate limit; "
            f"retry in {seconds} s.",
            retry_after=str(seconds),
        )
    return UpstreamError(
        Condition.OVERLOADED,
        f"Every deployment of the model `{requested}` is unavailable (circuit open); "
        f"retry in {seconds} s.",
        retry_after=str(seconds),
    )


@dataclass(slots=True)
class Step:
    state: DeploymentState
    wait: float


class Failover:
    """One request's attempts after its first failed: `next` says which deployment to try and
    how long to wait first, or None once the retries, the fallbacks or the deadline are spent.

    Each model in the chain (the requested one, then its `fallbacks` in order) gets up to
    `retries` retries after its first attempt; a retry prefers a deployment not yet tried."""

    __slots__ = (
        "_caller",
        "_chain",
        "_deadline",
        "_fallback_failed",
        "_first",
        "_notes",
        "_permits",
        "_position",
        "_refused",
        "_retries",
        "_router",
        "_stream",
        "_tried",
        "requested",
        "served",
    )

    def __init__(
        self,
        router: Router,
        caller: Caller,
        requested: str,
        first: DeploymentState,
        *,
        stream: bool,
        began: float | None = None,
        permits: Callable[[ModelRoute], bool] | None = None,
    ) -> None:
        self._router = router
        self._first = first
        self._permits = permits
        self._caller = caller
        self.requested = requested
        self.served = first
        self._stream = stream
        self._tried = {first.name}
        self._notes: list[str] = []
        self._fallback_failed = False
        self._retries = 0
        self._refused = False
        policy = router.policy
        model = first.deployment.route.name
        others = policy.fallbacks.get(requested) or policy.fallbacks.get(model, ())
        self._chain = [requested, *others]
        self._position = 0
        for position, name in enumerate(self._chain):
            group = router._groups.get(name)
            if group is not None and first in group.states:
                self._position = position  # the first choice may already be a fallback
                break
        self._deadline = (began if began is not None else router.clock()) + policy.deadline

    def failed(self, note: str) -> None:
        """What the attempt on `served` came to, for the explanation."""
        self._notes.append(f"{self.served.name} {note}")
        self._fallback_failed = self._fallback_failed or self._position > 0

    def next(self, error: UpstreamError) -> Step | None:
        router = self._router
        policy = router.policy
        now = router.clock()
        if error.content_refused:
            return self._content_fallback(now)
        how = RETRY.get(error.condition, Retry.NEVER)
        if how is Retry.NEVER or now >= self._deadline:
            return None
        if how is Retry.CONTEXT:
            current = self._chain[self._position]
            larger = policy.context_window_fallbacks.get(
                current
            ) or policy.context_window_fallbacks.get(self.served.deployment.route.name, ())
            if not larger:
                return None
            self._chain = [current, *larger]
            self._position = 0
            return self._next_model(now)
        if self._retries < policy.retries:
            step = self._retry(now, how, retry_after_seconds(error.retry_after))
            if step is not None:
                return step
        return self._next_model(now)

    @property
    def current(self) -> str:
        """The model of the chain the request is on."""
        return self._chain[self._position]

    def has_refusal_fallback(self) -> bool:
        """Whether a content refusal of `served` has fallbacks (before the deadline)."""
        router = self._router
        return router.clock() < self._deadline and bool(
            router.refusal_fallbacks(self.current, self.served)
        )

    def refused(self) -> Step | None:
        """The answer `served` gave is a content refusal: the first of the model's
        `content_policy_fallbacks` that can take the request, or None (the refusal stands)."""
        self._notes.append(f"{self.served.name} content refusal")
        return self._content_fallback(self._router.clock())

    def _content_fallback(self, now: float) -> Step | None:
        if now >= self._deadline:
            return None
        current = self._chain[self._position]
        others = self._router.refusal_fallbacks(current, self.served)
        if not others:
            return None
        self._chain = [current, *others]
        self._position = 0
        self._refused = True
        return self._next_model(now)

    def skip(self) -> Step | None:
        """The chosen deployment cannot take this request's body (its provider speaks neither
        the dialect nor a translation of it): the next one, counted as no retry."""
        self._notes.append(f"{self.served.name} cannot take this request")
        now = self._router.clock()
        step = self._retry(now, Retry.ELSEWHERE, None, count=False)
        return step if step is not None else self._next_model(now)

    def _retry(
        self, now: float, how: Retry, retry_after: float | None, *, count: bool = True
    ) -> Step | None:
        router = self._router
        policy = router.policy
        group = self._group(self._chain[self._position])
        failed = self.served
        states = self._allowed(group)
        if how is Retry.ELSEWHERE:
            states = [state for state in states if state.name not in self._tried]
        chosen = choose(
            states, group.strategy, now, router.rand, stream=self._stream, avoid=self._tried
        )
        wait = 0.0
        if chosen is None or chosen.name in self._tried:
            if how is Retry.ELSEWHERE:
                return None
            if chosen is None:  # only the one that failed: again, after a wait, if it may
                if failed not in states or not failed.breaker.allows(now):
                    return None
                if retry_after is not None and retry_after > policy.retry_after_max:
                    return None
                chosen = failed
            wait = backoff(
                self._retries,
                policy.backoff_base,
                policy.backoff_max,
                router.rand,
                retry_after if chosen is failed else None,
            )
            if now + wait >= self._deadline:
                return None
        if count:
            self._retries += 1
        self._tried.add(chosen.name)
        self.served = chosen
        return Step(chosen, wait)

    def _next_model(self, now: float) -> Step | None:
        router = self._router
        while self._position + 1 < len(self._chain):
            self._position += 1
            self._retries = 0
            group = router._groups.get(self._chain[self._position])
            if group is None:
                continue
            chosen = choose(
                [s for s in self._allowed(group) if s.name not in self._tried],
                group.strategy,
                now,
                router.rand,
                stream=self._stream,
            )
            if chosen is not None:
                self._tried.add(chosen.name)
                self.served = chosen
                return Step(chosen, 0.0)
        return None

    def _group(self, name: str) -> Group:
        """The group of a model of the chain (a name only a wildcard takes: its deployment)."""
        group = self._router._groups.get(name)
        if group is None:
            group = Group(name, [self._first], "weighted", pinned=True)
        return group

    def _allowed(self, group: Group) -> list[DeploymentState]:
        states = group.allowed(self._caller)
        permits = self._permits
        if permits is None:
            return states
        return [state for state in states if permits(state.deployment.route)]

    def headers(self) -> Mapping[str, str]:
        """The `x-fluxrouter-*` headers of the answer `served` gave."""
        return headers_for(self.served, self.explanation())

    def explanation(self, *, answered: bool = True) -> str:
        """The `x-fluxrouter-route` of the answer `served` gave; not `answered`: of the error
        the request ends in, once every attempt failed (`no answer; after ...`)."""
        if answered:
            group = self._router._groups.get(self._chain[self._position])
            label = group.label if group is not None else "wildcard"
            parts = [f"{label} {self.served.name}"]
        else:
            parts = ["no answer"]
        if self._notes:
            parts.append("after " + ", ".join(self._notes))
        # a failure names the fallback only when one was called (not when none was available)
        if self._position > 0 and (answered or self._fallback_failed):
            why = "content refusal fallback" if self._refused else "fallback"
            parts.append(f"{why} from {self._chain[0]}")
        return "; ".join(parts)
