"""`GET /v1/models` and `GET /v1/models/{id}` through the running gateway, on both shapes: the
`openai` SDK's `models.retrieve`, and the `anthropic` SDK's `models.list()` (paging) and
`models.retrieve()` with `x-api-key`, which get Anthropic's shapes, errors included."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.tenants import Tenant, create_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

ALLOWED = ["gpt-4o-mini", "local/llama3.1", "claude-haiku-4-5", "gemini/gemini-2.5-flash"]
VIRTUAL = ["auto", "fast", "cheap", "quality"]  # the virtual models (docs/routing.md)
LISTED = sorted(["claude-haiku-4-5", "gemini-2.5-flash", "gpt-4o-mini", "llama3.1", *VIRTUAL])


@pytest.fixture(scope="module")
def limited(admin: httpx.Client) -> Tenant:
    return create_tenant(admin, "models-limited", models=ALLOWED)


def _anthropic(gateway: GatewayProcess, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.base_url, api_key=key, max_retries=0)


def test_openai_sdk_retrieves_a_model_and_404s_the_rest(
    gateway: GatewayProcess, limited: Tenant
) -> None:
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=limited.key, max_retries=0)
    listed = [model.id for model in client.models.list()]
    assert sorted(listed) == LISTED
    virtual = client.models.retrieve("auto")
    assert (virtual.id, virtual.owned_by) == ("auto", "fluxrouter")
    model = client.models.retrieve("gpt-4o-mini")
    assert (model.id, model.object, model.owned_by) == ("gpt-4o-mini", "model", "openai")
    qualified = client.models.retrieve("local/llama3.1")  # an id holding a slash
    assert (qualified.id, qualified.owned_by) == ("local/llama3.1", "local")
    for hidden in ("gpt-4o", "no-such-model", "openai/gpt-4o"):  # not allowed, or unknown
        with pytest.raises(openai.NotFoundError) as missing:
            client.models.retrieve(hidden)
        assert missing.value.code == "model_not_found"
        body = missing.value.response.json()
        assert set(body["error"]) == {"message", "type", "param", "code"}


def test_anthropic_sdk_lists_pages_and_retrieves(gateway: GatewayProcess, limited: Tenant) -> None:
    client = _anthropic(gateway, limited.key)
    every = [model.id for model in client.models.list(limit=1)]  # the SDK follows the pages
    assert sorted(every) == LISTED
    first = client.models.list(limit=3)
    assert [m.id for m in first.data] == every[:3]
    assert first.has_more is True
    assert (first.first_id, first.last_id) == (every[0], every[2])
    assert all(m.type == "model" and m.display_name == m.id for m in first.data)
    before = client.models.list(before_id=every[3], limit=2)
    assert [m.id for m in before.data] == every[1:3]
    model = client.models.retrieve("claude-haiku-4-5")
    assert (model.id, model.type, model.display_name) == ("claude-haiku-4-5", "model", model.id)
    assert model.created_at.year == 1970
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.models.retrieve("claude-opus-4-1")
    assert missing.value.body is not None
    assert missing.value.response.json()["type"] == "error"
    assert missing.value.response.json()["error"]["type"] == "not_found_error"


def test_anthropic_callers_get_anthropic_errors(gateway: GatewayProcess, limited: Tenant) -> None:
    with pytest.raises(anthropic.AuthenticationError) as refused:
        _anthropic(gateway, "fr-not-a-key").models.list()
    assert refused.value.response.json()["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.BadRequestError) as bad:
        _anthropic(gateway, limited.key).models.list(limit=0)
    assert "limit" in bad.value.response.json()["error"]["message"]
    plain = httpx.get(
        f"{gateway.base_url}/v1/models", headers={"Authorization": f"Bearer {limited.key}"}
    )
    assert plain.json()["object"] == "list"  # without anthropic-version: OpenAI's shape
