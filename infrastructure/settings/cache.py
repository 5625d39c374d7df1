"""`cache`: the exact response cache, its default and its overrides per org, team or key."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from infrastructure.settings.rules import Invalid

Mode = Literal["on", "off", "deterministic"]
Scope = Literal["org", "team", "key"]
TTL = Annotated[int, Meta(ge=1, le=30 * 86400)]


class CacheOverride(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How one org's, team's or key's requests are cached: exactly one of `org`, `team`, `key`
    (an id); what it leaves out is the section's own."""

    org: str | None = None
    team: str | None = None
    key: str | None = None
    mode: Mode | None = None
    ttl_seconds: TTL | None = None
    scope: Scope | None = None
    semantic: bool | None = None
    """Whether this org's, team's or key's requests are looked up in the semantic cache."""
    semantic_scope: Scope | None = None

    def __post_init__(self) -> None:
        if sum(who is not None for who in (self.org, self.team, self.key)) != 1:
            raise Invalid("cache.overrides", "each names exactly one of org, team, key")


class SemanticSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`cache.semantic`: a paraphrase of a cached question answered from the cache."""

    enabled: bool = False
    """True: every request the exact cache looks up (and misses) is looked up here too, unless
    an override says otherwise."""
    threshold: Annotated[float, Meta(ge=0.5, le=1.0)] = 0.96
    """The least cosine similarity of a hit."""
    embeddings: str = "local"
    """`local`: WordLlama's static model, shipped in the `wordllama` package (the `semantic`
    extra), on the CPU; or `<provider>/<model>`: an embeddings model of a configured provider of
    kind `openai` or `openai-compatible`, called at its `/embeddings`."""
    scope: Scope = "team"
    """Who shares a semantic entry: a team's keys by default (across an org's teams only when
    an override of the org says `semantic_scope: org`)."""
    allow_tool_results: bool = False
    """A conversation with a tool call or its result is looked up too."""
    allow_images: bool = False
    """A conversation with an image or a file is looked up too (by its text only)."""
    max_entries: Annotated[int, Meta(ge=1)] = 100_000
    """The most vectors in one process's memory (1 KB each with the local model, about 2 KB at
    the peak with their keys); past it, the least recently used partitions go."""
    max_entries_per_partition: Annotated[int, Meta(ge=1)] = 10_000
    """The most vectors of one partition; past it, its oldest go."""
    max_partitions: Annotated[int, Meta(ge=1)] = 100_000
    """In Redis: the most partitions kept; past it, the least recently written go."""


class CacheSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = True
    """False: no request is cached, whatever a request or an override asks."""
    mode: Mode = "deterministic"
    """Which requests are cached when nothing else says: `deterministic` (temperature 0 or a
    seed), `on` (every request), `off` (only those that ask with `on`)."""
    ttl_seconds: TTL = 3600
    scope: Scope = "org"
    """Who shares an entry: every key of the org, only its team's keys, or only the key."""
    max_bytes: Annotated[int, Meta(ge=1024)] = 256 * 1024 * 1024
    """In memory (no `redis.url`): the most bytes of stored answers; past it, the least
    recently used go."""
    max_entries: Annotated[int, Meta(ge=1)] = 1_000_000
    """In Redis: the most stored answers; past it, the oldest go."""
    max_entry_bytes: Annotated[int, Meta(ge=1024)] = 1024 * 1024
    """An answer larger than this is not stored."""
    semantic: SemanticSettings = msgspec.field(default_factory=SemanticSettings)
    overrides: list[CacheOverride] = msgspec.field(default_factory=list)
