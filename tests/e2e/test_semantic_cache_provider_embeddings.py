"""The semantic cache with its embeddings from a configured provider's model
(`cache.semantic.embeddings: openai/text-embedding-3-small`), on both shapes: the gateway asks
the (fake) upstream's `/embeddings` for each question, and a question written otherwise (its
case, its function words) is a semantic hit; another question is a miss. (The fake's vectors
are derived from a hash of the text: only the same compared text is near.)"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config, own_gateway
from tests.support.tenants import create_tenant

MODEL = "text-embedding-3-small"


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
def gateway(
    request: pytest.FixtureRequest, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    def config(database_url: str, redis_url: str | None) -> dict[str, Any]:
        return gateway_config(
            database_url=database_url,
            redis_url=redis_url,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
        )

    with own_gateway(
        request.param,
        tmp_path_factory.mktemp(f"gateway-semantic-provider-{request.param}"),
        config,
        upstream_key=UPSTREAM_KEY,
        cache={"semantic": {"enabled": True, "embeddings": f"openai/{MODEL}"}},
    ) as process:
        yield process


def test_a_question_written_otherwise_is_a_semantic_hit(
    gateway: GatewayProcess, upstream: FakeOpenAI
) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"semantic-provider-{secrets.token_hex(3)}")
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=tenant.key, max_retries=0)
    word = f"semantic-{secrets.token_hex(6)}"
    said = []
    for question in (
        "What is the capital city of Austria?",
        "capital city AUSTRIA",
        "What is the capital city of Hungary?",
    ):
        answer = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": f"Be brief ({word})."},
                {"role": "user", "content": question},
            ],
            temperature=0,
        )
        said.append(answer.headers["x-fluxrouter-cache"])
    assert said == ["miss", "semantic-hit", "miss"]
    assert sum(1 for r in upstream.requests if word in str(r.json)) == 2
    asked = [
        r.json
        for r in upstream.requests
        if isinstance(r.json, dict)
        and r.json.get("model") == MODEL
        and "capital city" in str(r.json.get("input"))
    ]
    assert len(asked) >= 3  # one per question (the first's for its lookup and its entry)
    assert not any("Austria" in str(body) for body in asked)  # the compared text, small
