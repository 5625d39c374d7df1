"""The pipeline's exact response cache: whether a request is looked up and stored, under which
key and for how long, and what a hit replays (`domains.providers.response_cache` holds the
rules; a `ResponseCacheStore` the entries).

The pipeline asks once the tenant and the model are known (after the routing, before
admission): a hit reserves nothing and calls no upstream; a miss stores the upstream's whole,
successful answer (a stream's once it ended well), in the shape it came, for the front door to
translate again on every replay.
"""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator, Callable, Mapping

import msgspec
import structlog

from application.providers.completions.request import CompletionRequest
from domains.providers.errors import InvalidRequest
from domains.providers.events import CompletionFinished
from domains.providers.model import ModelRoute
from domains.providers.ports import Usage
from domains.providers.response_cache import (
    BODY_OPTION_KINDS,
    ENTRY_CODEC,
    ENTRY_DECODER,
    CachedAnswer,
    CachePolicy,
    CacheVerdict,
    Embedder,
    ResponseCacheStore,
    SemanticIndex,
    cache_key,
    complete_answer,
    deterministic,
    directive_of,
    freshened,
    scope_of,
)
from domains.providers.semantic_cache import Question, question_of
from domains.shared.caller import Caller
from domains.shared.ids import new_id

log = structlog.get_logger("fluxrouter.cache")


class Lookup(msgspec.Struct, kw_only=True):
    """What the cache does for one request: `verdict` is what the answer says of it (`hit`,
    `miss`, `refresh`, `off`); a lookup with a `key` reads (unless refreshing) and stores."""

    verdict: CacheVerdict
    key: str = ""
    ttl_seconds: int = 0
    kind: str = "chat"
    question: Question | None = None
    """What the semantic cache compares (None: the request is not looked up there)."""
    vector: bytes | None = None
    """The question's embedding, once computed."""

    @property
    def reads(self) -> bool:
        return bool(self.key) and self.verdict == "miss"

    @property
    def stores(self) -> bool:
        return bool(self.key)


OFF = Lookup(verdict="off")
DEFAULT_POLICY = CachePolicy()


def without_cache_option(request: CompletionRequest) -> tuple[CompletionRequest, object]:
    """(the request without the gateway's `cache` body option, the option): an OpenAI-shaped
    body may carry it; the upstream never sees it."""
    kind = request.dialect.kind if request.dialect is not None else "chat"
    if kind not in BODY_OPTION_KINDS or "cache" not in request.body:
        return request, None
    body = copy.copy(request.body)  # a `PassedBody` stays one, the member left out
    option = body.pop("cache")
    return msgspec.structs.replace(request, body=body), option


class SemanticCache(msgspec.Struct, frozen=True, kw_only=True):
    """The semantic cache's parts: its vectors, the model that makes them, and the least
    similarity of a hit; which requests it compares (`allow_*`)."""

    index: SemanticIndex
    embedder: Embedder
    threshold: float = 0.96
    allow_tool_results: bool = False
    allow_images: bool = False


class ResponseCache:
    def __init__(
        self,
        store: ResponseCacheStore,
        *,
        semantic: SemanticCache | None = None,
        default: CachePolicy = DEFAULT_POLICY,
        overrides: Mapping[str, CachePolicy] | None = None,
        max_entry_bytes: int = 1024 * 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`overrides`: by `org:<id>`, `team:<id>` or `key:<id>`; the key's wins, then the
        team's, then the org's."""
        self._store = store
        self._semantic = semantic
        self._default = default
        self._overrides = dict(overrides or {})
        self._max_entry = max_entry_bytes
        self._clock = clock

    def policy_for(self, caller: Caller) -> CachePolicy:
        overrides = self._overrides
        if not overrides:
            return self._default
        for who in (f"key:{caller.key_id}", f"team:{caller.team_id}", f"org:{caller.org_id}"):
            found = overrides.get(who)
            if found is not None:
                return found
        return self._default

    def consider(self, request: CompletionRequest, route: ModelRoute, option: object) -> Lookup:
        """What the cache does for `request`, routed to `route`'s model. A directive of the
        request (`x-fluxrouter-cache`, else its body's `cache` `option`) wins over its scope's
        mode."""
        kind = request.dialect.kind if request.dialect is not None else "chat"
        body = request.body
        try:
            directive = directive_of(request.caller.cache) or directive_of(option)
        except ValueError as error:
            raise InvalidRequest(str(error)) from None
        if directive == "off":
            return OFF
        policy = self.policy_for(request.caller)
        wanted = policy.mode == "on" or (
            policy.mode == "deterministic" and deterministic(kind, body)
        )
        if directive is None and not wanted:
            return OFF
        key = cache_key(
            scope=scope_of(request.caller, policy.scope),
            kind=kind,
            model=route.name,
            body=body,
            stream=request.stream,
            include_usage=request.include_usage,
        )
        verdict: CacheVerdict = "refresh" if directive == "refresh" else "miss"
        question = None
        semantic = self._semantic
        if semantic is not None and policy.semantic:
            question = question_of(
                scope=scope_of(request.caller, policy.semantic_scope),
                kind=kind,
                model=route.name,
                body=body,
                stream=request.stream,
                include_usage=request.include_usage,
                allow_tool_results=semantic.allow_tool_results,
                allow_images=semantic.allow_images,
            )
        return Lookup(
            verdict=verdict, key=key, ttl_seconds=policy.ttl_seconds, kind=kind, question=question
        )

    async def find(self, lookup: Lookup) -> tuple[CachedAnswer, float | None] | None:
        """The stored answer of the same request (similarity None), else of the most similar
        question of its partition when it is similar enough."""
        found = await self._entry(lookup.key)
        if found is not None:
            return found, None
        semantic, question = self._semantic, lookup.question
        if semantic is None or question is None:
            return None
        vector = await self._vector(semantic, lookup, question)
        if vector is None:
            return None
        nearest = await semantic.index.nearest(question.partition, vector)
        if nearest is None or nearest[1] < semantic.threshold:
            return None
        similar = await self._entry(nearest[0])
        return (similar, nearest[1]) if similar is not None else None

    async def _vector(
        self, semantic: SemanticCache, lookup: Lookup, question: Question
    ) -> bytes | None:
        if lookup.vector is None:
            try:
                lookup.vector = await semantic.embedder.embed(question.text)
            except Exception as error:  # a model that cannot load: a miss, never an error
                log.warning("cache.embeddings_failed", error=type(error).__name__)
                lookup.question = None
        return lookup.vector

    async def _entry(self, key: str) -> CachedAnswer | None:
        stored = await self._store.get(key)
        if stored is None:
            return None
        try:
            return ENTRY_DECODER.decode(stored)
        except msgspec.DecodeError:  # written by another version: a miss
            return None

    def replayed(self, found: CachedAnswer) -> tuple[bytes, AsyncIterator[bytes] | None]:
        """(the body, the chunks of a stream) a hit answers with, its ids and times fresh."""
        now = self._clock()
        if not found.stream:
            return freshened([found.payload], new_id, now)[0], None
        chunks = msgspec.msgpack.decode(found.payload, type=list[bytes])
        return b"", _replaying(freshened(chunks, new_id, now))

    async def store(
        self,
        lookup: Lookup,
        route: ModelRoute,
        *,
        native: bool,
        payload: bytes,
        usage: Usage | None,
        chunks: list[bytes] | None = None,
    ) -> None:
        """Keeps an answer that ended whole and well (else nothing)."""
        checked = b"".join(chunks) if chunks is not None else payload
        if len(checked) > self._max_entry or not complete_answer(
            lookup.kind if native else "chat", checked
        ):
            return
        used = usage or Usage()
        entry = CachedAnswer(
            native=native,
            stream=chunks is not None,
            payload=msgspec.msgpack.encode(chunks) if chunks is not None else payload,
            provider=route.provider,
            model=route.name,
            upstream_model=route.upstream,
            input_tokens=used.input_tokens,
            output_tokens=used.output_tokens,
            cached_tokens=used.cached_tokens,
            cache_write_5m_tokens=used.cache_write_5m_tokens,
            cache_write_1h_tokens=used.cache_write_1h_tokens,
            reasoning_tokens=used.reasoning_tokens,
            stored_at=self._clock(),
        )
        await self._store.put(lookup.key, ENTRY_CODEC.encode(entry), lookup.ttl_seconds)
        semantic, question = self._semantic, lookup.question
        if semantic is not None and question is not None:
            vector = await self._vector(semantic, lookup, question)
            if vector is not None:
                await semantic.index.add(question.partition, vector, lookup.key, lookup.ttl_seconds)

    def storing(
        self,
        lookup: Lookup,
        route: ModelRoute,
        chunks: AsyncIterator[bytes],
        ended: list[CompletionFinished],
        *,
        native: bool,
    ) -> AsyncIterator[bytes]:
        """A stream relayed as it comes and kept as it goes: stored once it ended well (its
        record says `ok`, its usage the upstream's own), never when the client left or it
        failed. Its last chunk is held until the answer is stored: a client that read the end
        and asks again finds it. `ended` holds the record of the call once it ended."""
        most = self._max_entry

        async def kept() -> AsyncIterator[bytes]:
            held: list[bytes] | None = []
            size = 0
            last: bytes | None = None
            try:
                async for chunk in chunks:
                    if last is not None:
                        yield last
                    if held is not None:
                        size += len(chunk)
                        if size > most:
                            held = None
                        else:
                            held.append(chunk)
                    last = chunk
                if held is not None:
                    await self._kept(lookup, route, held, ended, native=native)
                if last is not None:
                    yield last
            finally:
                closing = getattr(chunks, "aclose", None)
                if closing is not None:
                    await closing()

        return kept()

    async def _kept(
        self,
        lookup: Lookup,
        route: ModelRoute,
        held: list[bytes],
        ended: list[CompletionFinished],
        *,
        native: bool,
    ) -> None:
        """Stores a stream's chunks when its record says it ended well."""
        event = ended[-1] if ended else None
        if event is None or event.outcome != "ok" or event.status != 200:
            return
        if not event.usage_reported:
            return
        usage = Usage(
            input_tokens=event.input_tokens,
            output_tokens=event.output_tokens,
            cached_tokens=event.cached_tokens,
            cache_write_5m_tokens=event.cache_write_5m_tokens,
            cache_write_1h_tokens=event.cache_write_1h_tokens,
            reasoning_tokens=event.reasoning_tokens,
        )
        await self.store(lookup, route, native=native, payload=b"", usage=usage, chunks=held)


async def _replaying(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def usage_of(found: CachedAnswer) -> Usage:
    return Usage(
        input_tokens=found.input_tokens,
        output_tokens=found.output_tokens,
        cached_tokens=found.cached_tokens,
        cache_write_5m_tokens=found.cache_write_5m_tokens,
        cache_write_1h_tokens=found.cache_write_1h_tokens,
        reasoning_tokens=found.reasoning_tokens,
    )
