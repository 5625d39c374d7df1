"""The provider catalog: which upstream serves which model name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domains.providers.errors import UnknownModel


@dataclass(frozen=True, slots=True)
class ModelRoute:
    provider: str
    kind: str
    name: str
    upstream: str
    max_output_tokens: int | None = None
    wildcard: bool = False
    """Served through the provider's wildcard model `*` (`provider/<any name>`)."""

    @property
    def qualified_name(self) -> str:
        return f"{self.provider}/{self.name}"


WILDCARD = "*"
"""A provider's model of this name passes any `provider/<name>` asked for to that provider."""


class Catalog:
    """Resolves what a client sends as `model`: a model name, or `provider/name`.

    A bare name declared by several providers resolves to the first declared. A provider that
    declares the wildcard model `*` also serves `provider/<any name>` that it does not declare,
    by that name (a bare name it does not declare stays unknown).
    """

    def __init__(self, routes: Iterable[ModelRoute]) -> None:
        self._routes: list[ModelRoute] = []
        self._by_name: dict[str, ModelRoute] = {}
        self._wildcards: dict[str, ModelRoute] = {}
        for route in routes:
            self._routes.append(route)
            if route.name == WILDCARD:
                self._wildcards.setdefault(route.provider, route)
                continue
            self._by_name.setdefault(route.name, route)
            self._by_name[route.qualified_name] = route

    def resolve(self, requested: str) -> ModelRoute:
        route = self._by_name.get(requested) or self._wildcard(requested)
        if route is None:
            raise UnknownModel(requested)
        return route

    def _wildcard(self, requested: str) -> ModelRoute | None:
        """`provider/<name>` through the provider's wildcard model, when it declares one."""
        provider, slash, name = requested.partition("/")
        named = slash and name.strip() and name != WILDCARD
        wildcard = self._wildcards.get(provider) if named else None
        if wildcard is None:
            return None
        return ModelRoute(
            provider=wildcard.provider,
            kind=wildcard.kind,
            name=name,
            upstream=name,
            max_output_tokens=wildcard.max_output_tokens,
            wildcard=True,
        )

    def routes(self) -> list[ModelRoute]:
        return list(self._routes)


def answered_model(named: object, upstream: str) -> str:
    """The `model` of every answer, whatever the provider's kind: the model id the upstream says
    answered (e.g. a dated snapshot), else the configured upstream name; never the name the
    client sent, never prefixed with the provider's name."""
    return named if isinstance(named, str) and named else upstream
