"""The model-resolution queries of the completion pipeline: which model a name means for a
caller (after the routing policies, a virtual model's choice), whether the caller's key may use
it, which of its deployments a call goes to first, what a caller's model listing shows, and a
body's tokens as its provider counts them.

`CompletionPipeline` is a `ModelQueries`: the front doors ask it these as they ask it to
complete, one object for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from application.providers.completions.attempts import permits_of
from application.providers.completions.upstream import Upstream
from application.providers.completions.virtual import VIRTUAL_PROVIDER, Routed, VirtualModels
from application.providers.routing.router import Router
from domains.providers.errors import ModelNotAllowed, UnknownModel
from domains.providers.model import WILDCARD, Catalog, ModelRoute
from domains.providers.output_limit import NativeKind
from domains.providers.policy import NO_DECISION, Decision, Policies
from domains.providers.routing.deployment import DeploymentState
from domains.shared.caller import Caller

log = structlog.get_logger("fluxrouter.v1")


class ModelQueries:
    def __init__(
        self,
        catalog: Catalog,
        upstream: Upstream,
        policies: Policies,
        virtual: VirtualModels | None,
        router: Router,
    ) -> None:
        self._policies = policies
        self._catalog = catalog
        self._virtual = virtual
        self._upstream = upstream
        self.router = router

    def resolve(self, caller: Caller, requested: str, body: Mapping[str, Any]) -> Routed:
        """The model `requested` names for this caller and `body` (in any dialect), after the
        routing policies had their say: the model itself, or the one a rule forces; a virtual
        model's choice among the models the key and the policies allow, with its reason (for
        `auto`, the prompt's tier is known to the policies)."""
        virtual = self._virtual
        if virtual is None:
            policy = self._policies.decide_for(caller, requested, None)
            return Routed(self._routable(caller, requested, policy), policy=policy)
        classified = virtual.classify(body) if virtual.is_auto(requested) else None
        tier = classified.tier if classified is not None else None
        policy = self._policies.decide_for(caller, requested, tier)
        model = policy.model(requested)
        if not virtual.is_virtual(model):
            return Routed(self._routable(caller, model, policy), policy=policy)

        def allowed(route: ModelRoute) -> bool:
            return policy.refusal(route) is None

        admits = None if policy is NO_DECISION else allowed
        try:
            routed = virtual.resolve(caller, model, body, allowed=admits, classified=classified)
        except ModelNotAllowed:
            if admits is None:
                raise
            # the key has models, the policies refuse them all: the rule that refuses says so
            policy.check(virtual.resolve(caller, model, body, classified=classified).route)
            raise
        log.debug("v1.virtual_model", requested=requested, reason=routed.reason)
        return Routed(routed.route, routed.reason, policy)

    def _routable(self, caller: Caller, requested: str, policy: Decision) -> ModelRoute:
        """`route_for`, but a model of several deployments is refused only when the caller's key
        may use none of them, or the policies refuse every one (`PolicyDenied`)."""
        model = policy.model(requested)
        router = self.router
        if len(router.routes(model)) < 2:
            return self.route_for(caller, requested, policy)
        allowed = router.group(model).allowed(caller)
        if not allowed:
            raise ModelNotAllowed(model)
        return policy.filter([state.deployment.route for state in allowed])[0]

    def route_for(
        self, caller: Caller, requested: str, policy: Decision = NO_DECISION
    ) -> ModelRoute:
        """The route of the model requested (or of the one `policy` forces), if the caller's key
        may use it (a model through a wildcard also when the key lists `provider/*`) and no rule
        of `policy` refuses it (`PolicyDenied`)."""
        model = policy.model(requested)
        route = self._catalog.resolve(model)
        wildcard = (f"{route.provider}/{WILDCARD}",) if route.wildcard else ()
        if not caller.may_use(route.name, route.qualified_name, *wildcard):
            raise ModelNotAllowed(model)
        return policy.check(route)

    def route_with_policies(
        self, caller: Caller, requested: str, tier: str | None = None
    ) -> tuple[ModelRoute, Decision]:
        """The route, after the routing policies had their say (`domains.providers.policy`):
        the model a rule forces, a deployment no rule refuses (else `PolicyDenied`)."""
        policy = self._policies.decide_for(caller, requested, tier)
        return self.route_for(caller, requested, policy), policy

    def speaks(self, route: ModelRoute, kind: NativeKind) -> bool:
        """Whether `route`'s provider takes `kind` bodies as they are: a front door may then leave
        in a body what only that provider understands, rather than refuse it as untranslatable."""
        return self._upstream.speaks(route, kind)

    def models_for(self, caller: Caller) -> list[tuple[str, ModelRoute]]:
        """(id to show, route) for each model this caller may use."""
        shown = []
        for route in self._catalog.routes():
            if route.name == WILDCARD:  # listed as `provider/*`: any name under it
                if caller.may_use(route.qualified_name):
                    shown.append((route.qualified_name, route))
            elif caller.may_use(route.name, route.qualified_name):
                bare = self._catalog.resolve(route.name) is route
                shown.append((route.name if bare else route.qualified_name, route))
        if self._virtual is not None:
            for name in self._virtual.names_for(caller):
                shown.append((name, ModelRoute(VIRTUAL_PROVIDER, "virtual", name, name)))
        return shown

    def shown_model(self, caller: Caller, wanted: str) -> ModelRoute:
        """The model `wanted` as the model listing shows it to this caller (a virtual model too);
        `UnknownModel` if the caller cannot see it."""
        try:
            return self.route_for(caller, wanted)
        except ModelNotAllowed:  # a model the key may not use is one it cannot see
            raise UnknownModel(wanted) from None
        except UnknownModel:
            virtual = self._virtual
            if virtual is None or wanted not in virtual.names_for(caller):
                raise
            return ModelRoute(VIRTUAL_PROVIDER, "virtual", wanted, wanted)

    async def count_tokens(
        self,
        caller: Caller,
        model: str,
        body: dict[str, Any],
        headers: Mapping[str, str],
        kind: NativeKind = "messages",
    ) -> int | None:
        """A `kind` body's input tokens as its provider counts them; None if the provider does
        not speak `kind` (the front door estimates)."""
        route = self.resolve(caller, model, body).route
        if not self._upstream.speaks(route, kind):
            return None
        return await self._upstream.count_tokens(route, kind, body, headers)

    def _deployment(
        self, caller: Caller, requested: str, routed: Routed, *, stream: bool = False
    ) -> tuple[DeploymentState, ModelRoute]:
        """The deployment the call goes first to, and what is called there, for the model
        `resolve` found: one of its deployments the key and the policies let serve it, chosen
        by the router (a virtual model's choice too: any deployment of the model it chose); a
        model through a wildcard, on the wildcard's deployment."""
        route, policy = routed.route, routed.policy
        router = self.router
        if route.wildcard:
            wildcard = router.state(f"{route.provider}/{WILDCARD}")
            return (wildcard if wildcard is not None else router.adopt(route)), route
        model = route.name if routed.reason is not None else policy.model(requested)
        if not router.routes(model):
            return router.adopt(route), route
        state = router.first(caller, model, stream=stream, permits=permits_of(policy))
        return state, state.deployment.route

    def _first(
        self, caller: Caller, requested: str, policy: Decision, *, stream: bool = False
    ) -> tuple[DeploymentState, ModelRoute]:
        """The deployment a call goes to first, and what is called there: one of the model's
        deployments the caller's key and the policies let serve it (`Router.first`), or a
        model through a provider's wildcard (the catalog's route, the wildcard's deployment)."""
        model = policy.model(requested)
        router = self.router
        if not router.routes(model):
            route = self.route_for(caller, requested, policy)  # a wildcard's, or unknown
            state = router.state(f"{route.provider}/{WILDCARD}")
            if state is None:  # (a catalog of routes the router was not built from)
                state = router.adopt(route)
            return state, route
        permits = permits_of(policy)
        if permits is not None:
            allowed = router.group(model).allowed(caller)
            if allowed:  # none: the key may not use it, which the router says
                policy.filter([state.deployment.route for state in allowed])
        state = router.first(caller, model, stream=stream, permits=permits)
        return state, state.deployment.route
