"""The response cache with its semantic part, from real parts (the in-memory store and index,
the static model): a paraphrase finds the stored answer with its similarity; below the
threshold, or in another team (unless the org's override shares across teams), or when the
request is not deterministic, nothing is found."""

from __future__ import annotations

from typing import Any

from application.providers.completions.cache import ResponseCache, SemanticCache
from application.providers.completions.request import CompletionRequest
from domains.providers.model import ModelRoute
from domains.providers.ports import Usage
from domains.providers.response_cache import CachePolicy
from domains.shared.caller import Caller
from infrastructure.cache.memory_store import MemoryCacheStore
from infrastructure.cache.semantic_memory import MemorySemanticIndex
from infrastructure.embeddings.static_model import StaticEmbedder

ROUTE = ModelRoute(provider="openai", kind="openai", name="gpt-4o-mini", upstream="gpt-4o-mini")
ANSWER = b'{"id":"chatcmpl-1","choices":[{"message":{"content":"Vienna"},"finish_reason":"stop"}]}'


def caller(team: str, org: str = "org-1") -> Caller:
    return Caller(key_id=f"key-{team}", key_prefix="fr", team_id=team, org_id=org)


def request(question: str, who: Caller, **members: Any) -> CompletionRequest:
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": question}],
        "temperature": 0,
        **members,
    }
    return CompletionRequest(caller=who, request_id="r", model="gpt-4o-mini", body=body)


def cache(threshold: float = 0.95, **overrides: CachePolicy) -> ResponseCache:
    semantic = SemanticCache(
        index=MemorySemanticIndex(1000, 100), embedder=StaticEmbedder(), threshold=threshold
    )
    return ResponseCache(
        MemoryCacheStore(1 << 20),
        semantic=semantic,
        default=CachePolicy(semantic=True),
        overrides=overrides,
    )


async def stored(responses: ResponseCache, question: str, who: Caller) -> None:
    lookup = responses.consider(request(question, who), ROUTE, None)
    assert await responses.find(lookup) is None
    await responses.store(lookup, ROUTE, native=False, payload=ANSWER, usage=Usage())


async def found(responses: ResponseCache, question: str, who: Caller) -> float | None:
    answer = await responses.find(responses.consider(request(question, who), ROUTE, None))
    if answer is None:
        return None
    assert answer[0].payload == ANSWER
    assert answer[1] is not None  # (another wording: never the exact entry)
    return answer[1]


async def test_a_paraphrase_finds_the_answer_with_its_similarity() -> None:
    responses = cache()
    await stored(responses, "How do I reverse a list in Python?", caller("t1"))
    similarity = await found(responses, "How can I reverse a list in Python?", caller("t1"))
    assert similarity is not None
    assert 0.95 <= similarity <= 1
    assert await found(responses, "How do I sort a list in Python?", caller("t1")) is None
    assert await found(responses, "What's Austria's capital city?", caller("t1")) is None
    await stored(responses, "What is the capital city of Austria?", caller("t1"))
    assert await found(responses, "What's Austria's capital city?", caller("t1")) is not None
    strict = cache(threshold=0.999)  # (their similarity: 0.997)
    await stored(strict, "What is the capital city of Austria?", caller("t1"))
    assert await found(strict, "What's Austria's capital city?", caller("t1")) is None


async def test_teams_share_only_when_their_org_says_so() -> None:
    apart = cache()
    await stored(apart, "How do I reverse a list in Python?", caller("t1"))
    assert await found(apart, "How can I reverse a list in Python?", caller("t2")) is None
    assert await found(apart, "How can I reverse a list in Python?", caller("t1", "org-2")) is None
    shared = cache(**{"org:org-1": CachePolicy(semantic=True, semantic_scope="org")})
    await stored(shared, "How do I reverse a list in Python?", caller("t1"))
    assert await found(shared, "How can I reverse a list in Python?", caller("t2")) is not None
    assert await found(shared, "How can I reverse a list in Python?", caller("t1", "org-2")) is None


async def test_a_request_the_cache_does_not_take_is_not_compared() -> None:
    responses = cache(**{"key:key-t3": CachePolicy(semantic=False)})
    await stored(responses, "How do I reverse a list in Python?", caller("t1"))
    creative = request("How can I reverse a list in Python?", caller("t1"), temperature=0.9)
    assert responses.consider(creative, ROUTE, None).key == ""
    lookup = responses.consider(request("How do I reverse a list?", caller("t3")), ROUTE, None)
    assert lookup.question is None
