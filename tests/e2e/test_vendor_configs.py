"""The `openai-compatible` blocks of docs/providers.md work by configuration alone.

Each vendor's YAML block is read from the document, its `base_url` host swapped for the fake
upstream (the documented path kept), and all of them run in one real gateway process.
"""

from __future__ import annotations

import re
import secrets
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openai
import pytest
import yaml

from tests.fakes.openai_upstream import MODEL_IDS, FakeOpenAI, RecordedRequest
from tests.support.gateway import GatewayProcess
from tests.support.tenants import create_tenant

DOC = Path(__file__).resolve().parents[2] / "docs" / "providers.md"
SECTION = "## OpenAI-compatible servers, by configuration alone"
VENDORS = ("vllm", "ollama", "llamacpp", "groq", "together", "deepseek", "mistral")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")


def documented_blocks() -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Provider entries by name, and a value for every `${VAR}` they reference."""
    text = DOC.read_text()
    assert SECTION in text, f"{DOC} has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks: dict[str, dict[str, Any]] = {}
    env: dict[str, str] = {}
    for raw in re.findall(r"```ya?ml\n(.*?)```", section, re.S):
        loaded = yaml.safe_load(textwrap.dedent(raw))
        entries = loaded if isinstance(loaded, list) else [loaded]
        assert len(entries) == 1, f"expected one provider per block:\n{raw}"
        (entry,) = entries
        assert entry["name"] not in blocks, f"two blocks for {entry['name']}"
        blocks[entry["name"]] = entry
        for var in PLACEHOLDER.findall(raw):
            env[var] = f"sk-{var.lower()}"
    missing = [vendor for vendor in VENDORS if vendor not in blocks]
    assert not missing, f"no YAML block in {SECTION!r} for {missing}; found {sorted(blocks)}"
    return blocks, env


BLOCKS, ENV = documented_blocks()


def prefix_of(provider: dict[str, Any]) -> str:
    return urlsplit(str(provider["base_url"])).path.rstrip("/")


def is_embedding(model: dict[str, Any]) -> bool:
    return "embed" in model.get("upstream", model["name"])


def expected_auth(provider: dict[str, Any]) -> str | None:
    key = PLACEHOLDER.sub(lambda m: ENV[m.group(1)], str(provider.get("api_key") or ""))
    return f"Bearer {key}" if key else None


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    # no expected key: each provider's own key is checked per request below; Ollama sends none
    with FakeOpenAI(allow_anonymous=True) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    workdir = tmp_path_factory.mktemp("gateway-vendors")
    providers = []
    for vendor in VENDORS:
        provider = dict(BLOCKS[vendor])
        assert provider["kind"] == "openai-compatible", vendor
        provider["base_url"] = f"http://127.0.0.1:{fake.port}{urlsplit(provider['base_url']).path}"
        providers.append(provider)
    config = {
        "database": {"url": f"sqlite+aiosqlite:///{workdir / 'fluxrouter.db'}"},
        "redis": {"url": None},
        "logging": {"level": "info", "format": "json"},
        "providers": providers,
    }
    process = GatewayProcess(workdir, config, admin_key="fradm-" + secrets.token_urlsafe(32))
    process.env.update(ENV)
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(gateway: GatewayProcess) -> Iterator[openai.OpenAI]:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "vendors")
    base = f"{gateway.base_url}/v1"
    with openai.OpenAI(base_url=base, api_key=tenant.key, max_retries=0) as sdk:
        yield sdk


def received(fake: FakeOpenAI, method: str, path: str) -> list[RecordedRequest]:
    got = fake.requests
    assert all(r.path == path for r in got if r.method == method), [r.path for r in got]
    return [r for r in got if r.method == method]


@pytest.mark.parametrize("vendor", VENDORS)
def test_documented_block_works(
    vendor: str, fake: FakeOpenAI, gateway: GatewayProcess, client: openai.OpenAI
) -> None:
    provider = BLOCKS[vendor]
    prefix, auth = prefix_of(provider), expected_auth(provider)
    chat_model = next(m for m in provider["models"] if not is_embedding(m))
    upstream = chat_model.get("upstream", chat_model["name"])
    messages: Any = [{"role": "user", "content": f"hello {vendor}"}]
    fake.clear()

    plain = client.chat.completions.create(model=chat_model["name"], messages=messages)
    stream = client.chat.completions.create(
        model=chat_model["name"], messages=messages, stream=True
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert plain.choices[0].message.content == streamed == f"Echo: hello {vendor}"

    first, second = received(fake, "POST", f"{prefix}/chat/completions")
    for request in (first, second):
        assert request.json["model"] == upstream
        assert request.headers.get("authorization") == auth
    assert "stream_options" not in first.json
    assert second.json["stream"] is True
    if provider.get("stream_usage", True):
        assert second.json["stream_options"] == {"include_usage": True}
    else:
        assert "stream_options" not in second.json

    for model in filter(is_embedding, provider["models"]):
        fake.clear()
        vectors = client.embeddings.create(model=model["name"], input="embed me")
        assert len(vectors.data) == 1
        assert len(vectors.data[0].embedding) > 0
        (request,) = received(fake, "POST", f"{prefix}/embeddings")
        assert request.json["model"] == model.get("upstream", model["name"])
        assert request.json["encoding_format"] == "float"  # base64 is converted by the gateway
        assert request.headers.get("authorization") == auth

    fake.clear()
    with gateway.admin() as admin:
        listing = admin.get(f"/providers/{vendor}/upstream-models")
    assert listing.status_code == 200, listing.text
    assert (listing.json()["error"], listing.json()["upstream"]) == (None, list(MODEL_IDS))
    (request,) = received(fake, "GET", f"{prefix}/models")
    assert request.headers.get("authorization") == auth
