"""The exact response cache's rules, in pure Python: what a request's cache key is made of, which
requests are cached, which answers may be stored, and how a stored answer is made fresh again.

A key is the digest of a canonical encoding (msgspec JSON, keys sorted, a whole float written as
an integer) of everything that changes the answer: the dialect, the model the routing resolved,
the body without what only changes its delivery (`stream`, `stream_options`, `user`, `metadata`,
the gateway's own `cache` option), whether the answer streams (and ends with its usage), and the
tenant scope (the org always; the team or the key when the scope says so). Images are part of
the body: a data URL by its content, a remote one by its address.

The semantic cache plugs in beside the exact one through `SemanticIndex` and `Embedder`
(`semantic_cache` holds its rules).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

import msgspec

from domains.shared.caller import Caller

CacheMode = Literal["on", "off", "deterministic"]
"""`on`: every request is cached; `deterministic`: only those with temperature 0 or a seed;
`off`: none."""
CacheScope = Literal["org", "team", "key"]
Directive = Literal["on", "off", "refresh"]
"""A request's own choice (`x-fluxrouter-cache`, or the body's `cache`)."""
CacheVerdict = Literal["hit", "semantic_hit", "miss", "off", "refresh"]
"""What the request log's `cache` says (the answer's `x-fluxrouter-cache` writes `semantic_hit`
as `semantic-hit`)."""
HITS: frozenset[str] = frozenset({"hit", "semantic_hit"})
"""The verdicts of an answer from the cache: billed nothing, recorded with what it saved."""

DIRECTIVES: frozenset[str] = frozenset({"on", "off", "refresh"})
CACHE_HEADER = "x-fluxrouter-cache"
SIMILARITY_HEADER = "x-fluxrouter-cache-similarity"
"""A semantic hit's: the cosine of its question and the cached one (`0.973`)."""

DELIVERY_ONLY: frozenset[str] = frozenset(
    {"stream", "stream_options", "user", "metadata", "cache", "store", "background"}
)
"""Members of a body that change how or where the answer is delivered, not what it says."""

BODY_OPTION_KINDS: frozenset[str] = frozenset({"chat", "completions", "responses"})
"""The dialects whose body may carry the gateway's `cache` option (the OpenAI-shaped ones); it
is taken out before the body goes upstream."""


class CachePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How a caller's requests are cached: which (`mode`), for how long (`ttl_seconds`), and
    who shares the entries (`scope`: the org always; its teams or its keys apart when said)."""

    mode: CacheMode = "deterministic"
    ttl_seconds: int = 3600
    scope: CacheScope = "org"
    semantic: bool = False
    """A request looked up and missed is looked up in the semantic cache too."""
    semantic_scope: CacheScope = "team"


class CachedAnswer(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """What a hit replays: the upstream's answer as the front door got it (a whole body, or a
    stream's bytes), in the shape it came (`native`: the request's own dialect, else chat), with
    the usage it cost and the model that answered (for the record of what the hit saved)."""

    native: bool
    stream: bool
    payload: bytes
    provider: str
    model: str
    upstream_model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    stored_at: float = 0.0


ENTRY_CODEC = msgspec.msgpack.Encoder()
ENTRY_DECODER = msgspec.msgpack.Decoder(CachedAnswer)


class ResponseCacheStore(Protocol):
    """Where entries live: bounded, evicting the least recently used (in memory) or the oldest
    (Redis) past its bound; an entry past its time to live is never answered."""

    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, value: bytes, ttl_seconds: int) -> None: ...


class SemanticIndex(Protocol):
    """The semantic cache's vectors: per partition (`semantic_cache.question_of`), the stored
    requests' normalised embeddings (float32 bytes) and the exact cache key of each answer."""

    async def nearest(self, partition: str, vector: bytes) -> tuple[str, float] | None:
        """The most similar stored request of the partition: (its key, the cosine)."""
        ...

    async def add(self, partition: str, vector: bytes, key: str, ttl_seconds: int) -> None: ...


class Embedder(Protocol):
    """A question's embedding: a normalised float32 vector, as bytes."""

    async def embed(self, text: str) -> bytes: ...


def directive_of(value: object) -> Directive | None:
    """A request's cache directive (`on`, `off`, `refresh`), or None if it gave none; anything
    else is a ValueError."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() in DIRECTIVES:
        return value.strip().lower()  # type: ignore[return-value]
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Mapping):
        if value.get("refresh") is True:
            return "refresh"
        enabled = value.get("enabled", value.get("mode"))
        if enabled is None and set(value) <= {"refresh"}:
            return None
        return directive_of(enabled)
    raise ValueError("cache must be one of on, off, refresh")


def deterministic(kind: str, body: Mapping[str, Any]) -> bool:
    """The request asks for the same answer every time: temperature 0, or a seed."""
    config = body.get("generationConfig") if kind == "gemini" else body
    if not isinstance(config, Mapping):
        return False
    temperature = config.get("temperature")
    numeric = isinstance(temperature, (int, float)) and not isinstance(temperature, bool)
    if numeric and temperature == 0:
        return True
    return config.get("seed") is not None


def scope_of(caller: Caller, scope: CacheScope) -> str:
    """Who shares an entry: the org always, and its team or its key when the scope says so."""
    if scope == "key":
        return f"{caller.org_id}/{caller.team_id}/{caller.key_id}"
    if scope == "team":
        return f"{caller.org_id}/{caller.team_id}"
    return caller.org_id


def canonical(value: Any) -> Any:
    """The value with whole floats as integers (`0.0` and `0` ask the same)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {str(key): canonical(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    return value


_KEY_ENCODER = msgspec.json.Encoder(order="sorted")


def cache_key(
    *,
    scope: str,
    kind: str,
    model: str,
    body: Mapping[str, Any],
    stream: bool,
    include_usage: bool,
) -> str:
    """The entry's key: the BLAKE2b digest of the canonical request, under its scope."""
    semantic = {key: value for key, value in body.items() if key not in DELIVERY_ONLY}
    semantic.pop("model", None)  # the model the routing resolved counts instead
    encoded = _KEY_ENCODER.encode(
        {
            "v": 1,
            "scope": scope,
            "kind": kind,
            "model": model,
            "stream": stream,
            "usage": include_usage and stream,
            "body": canonical(semantic),
        }
    )
    return hashlib.blake2b(encoded, digest_size=20).hexdigest()


_STOPPED = {
    "chat": (b'"finish_reason":"stop"', b'"finish_reason":"length"'),
    "completions": (b'"finish_reason":"stop"', b'"finish_reason":"length"'),
    "messages": (
        b'"stop_reason":"end_turn"',
        b'"stop_reason":"max_tokens"',
        b'"stop_reason":"stop_sequence"',
    ),
    "responses": (b'"status":"completed"',),
    "gemini": (b'"finishReason":"STOP"', b'"finishReason":"MAX_TOKENS"'),
}
_ERRORS = (b'"error":{', b'"error": {', b"event: error", b'"type":"error"')
_SPACES = re.compile(rb'":\s+"')


def complete_answer(kind: str, payload: bytes) -> bool:
    """Whether an answer (a body, or a stream's bytes) in `kind`'s shape ended as a whole,
    successful answer: it stopped, or reached its length, and says no error."""
    compact = _SPACES.sub(b'":"', payload) if b'": "' in payload else payload
    if any(marker in compact for marker in _ERRORS):
        return False
    return any(marker in compact for marker in _STOPPED.get(kind, ()))


_ID = re.compile(rb'"id"\s*:\s*"((?:chatcmpl|cmpl|msg|resp)[-_])([A-Za-z0-9_-]+)"')
_CREATED = re.compile(rb'"(created|created_at)"\s*:\s*\d+')


def freshened(
    parts: list[bytes], token: Callable[[], str], now: float | None = None
) -> list[bytes]:
    """A stored answer (its body, or its stream's chunks) with the ids it gave out (chat's
    `chatcmpl-`, Anthropic's `msg_`, a response's `resp_` and its items') made new, each the
    same new id wherever it appears, and its creation times now: two answers never share an
    id."""
    renamed: dict[bytes, bytes] = {}
    for part in parts:
        for found in _ID.finditer(part):
            old = found.group(1) + found.group(2)
            if old not in renamed:
                renamed[old] = found.group(1) + token().encode()
    stamp = str(int(now if now is not None else time.time())).encode()

    def fresh(part: bytes) -> bytes:
        for old, new in renamed.items():
            part = part.replace(old, new)
        return _CREATED.sub(lambda match: b'"' + match.group(1) + b'":' + stamp, part)

    return [fresh(part) for part in parts]
