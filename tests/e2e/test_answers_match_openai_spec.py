"""Every answer of the gateway's OpenAI routes validates against OpenAI's own OpenAPI document
(`tests/specs/openai-openapi.yaml`, through `tests.support.openai_spec`), for each kind of
upstream (openai, openai-compatible, anthropic, gemini, each one of the fakes) and on both
shapes: chat completions plain and streamed (every chunk), with tool calls and a tool result,
legacy function calls, several choices, structured output, a content filter, legacy text
completions plain and streamed, embeddings, the model list and one model, and the error answers
(400, 401, 404, 405, 429, 502, an upstream's failure mid-stream).

The module is a table: each `Cell` is one request and the schema its answer must match; each
route's cells come from one function of `ROUTES` (see `cells_for`). A cell also says what its
answer must show (`shows`: the tool call, the two choices...), so that it cannot pass by
answering something simpler than it asked.

One gateway per shape, of this module's own: the session's, plus a provider of each kind whose
models are the fakes' models that fail on purpose (`spec-<kind>/invalid`, `/missing`,
`/limited`, `/broken`, `/stream-error`, `/filtered`).

Not checked here, because the document itself is wrong about them: an embedding asked for with
`encoding_format: "base64"` is a base64 string, which OpenAI's API answers and the document's
`Embedding` (an array of numbers) does not allow; and the chunks of a legacy completions
stream, which the document gives the whole answer's schema (`CreateCompletionResponse`), whose
`finish_reason` and `usage` may not be null, while OpenAI sends both null in every chunk but the
last, as the document's own `stream_options` says (`tests/e2e/test_completions_front.py` has the
`openai` SDK read those streams).
"""

from __future__ import annotations

import functools
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from tests.conftest import UPSTREAM_KEY
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config, own_gateway
from tests.support.matrix import OPENAI_TOOLS, SEARCH_SCHEMA
from tests.support.openai_spec import (
    CHAT_CHUNKS,
    RESPONSE_EVENTS,
    SpecMismatch,
    StreamShape,
    answer_schema,
    declared_answer,
    validate_answer,
    validate_stream,
)
from tests.support.tenants import create_tenant

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
EMBEDDINGS = "/v1/embeddings"
MODELS = "/v1/models"
RESPONSES = "/v1/responses"
ERROR = "ErrorResponse"
HELLO: Any = [{"role": "user", "content": "hello from the spec"}]
QUESTION: Any = [{"role": "user", "content": "weather in Lyon"}]
CALL_ID = "call_spec_0001"
TOOL_TURN: Any = [
    *QUESTION,
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": CALL_ID,
                "type": "function",
                "function": {"name": "search", "arguments": '{"query": "weather in Lyon"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": CALL_ID, "content": "sunny and 21 degrees"},
]
FUNCTIONS: Any = [{"name": "search", "description": "Search the web", "parameters": SEARCH_SCHEMA}]
FUNCTION_TURN: Any = [
    *QUESTION,
    {
        "role": "assistant",
        "content": None,
        "function_call": {"name": "search", "arguments": '{"query": "weather in Lyon"}'},
    },
    {"role": "function", "name": "search", "content": "sunny and 21 degrees"},
]
TRIP: Any = {
    "type": "json_schema",
    "json_schema": {
        "name": "trip",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "nights": {"type": "integer"}},
            "required": ["city", "nights"],
            "additionalProperties": False,
        },
    },
}
WITH_USAGE = {"stream": True, "stream_options": {"include_usage": True}}


@dataclass(frozen=True)
class Upstream:
    """A kind of upstream as this module's gateway serves it: its models by what they do."""

    kind: str
    slug: str  # in test ids and provider names
    chat: str
    embeddings: str | None  # None: the kind has no embeddings
    choices: bool  # it answers `n` > 1
    failing: dict[str, str]  # condition → the fake's model that fails so
    completion: str = ""  # its model behind `/v1/completions`

    def model(self, condition: str) -> str:
        """The module's model that makes the fake fail with `condition`."""
        return f"spec-{self.slug}/{condition}"


OPENAI_FAILING = {
    "broken": "fake-error-500",
    "invalid": "fake-error-400",
    "missing": "fake-error-404",
    "limited": "fake-error-429",
    "stream-error": "fake-stream-error",
}
UPSTREAMS = [
    Upstream(
        "openai",
        "openai",
        "gpt-4o-mini",
        "text-embedding-3-small",
        True,
        OPENAI_FAILING,
        completion="gpt-3.5-turbo-instruct",
    ),
    Upstream(
        "openai-compatible",
        "compat",
        "llama3.1",
        "nomic-embed",
        True,
        OPENAI_FAILING,
        completion="llama-instruct",
    ),
    Upstream(
        "anthropic",
        "anthropic",
        "claude-haiku-4-5",
        None,
        False,
        {
            "broken": "fake-error-500",
            "invalid": "fake-error-400",
            "missing": "fake-error-404",
            "limited": "fake-rate-limited",
            "stream-error": "fake-stream-error",
        },
        completion="claude-haiku-4-5",
    ),
    Upstream(
        "gemini",
        "gemini",
        "gemini-2.5-flash",
        "text-embedding-004",
        True,
        {
            "broken": "fake-error-500",
            "invalid": "fake-error-400",
            "missing": "fake-error-404",
            "limited": "fake-exhausted",
            "filtered": "fake-safety",
        },
        completion="gemini-2.5-flash",
    ),
]


@dataclass(frozen=True)
class Seen:
    """What a cell's request got back: the HTTP answer, and its decoded body (a stream: its
    events' payloads, in order)."""

    response: httpx.Response
    body: Any


@dataclass(frozen=True)
class Cell:
    """One request, and the schema of OpenAI's document its answer must validate against: a
    component's name for a whole answer (checked to be the one the document names for the
    operation and status), a `StreamShape` for a stream.

    `caller`: who asks: `tenant` (a key of the module's), `nobody` (no key), `stranger` (a key
    the gateway never issued), `throttled` (a key of its own at `rpm: 1`, asking until refused).
    `shows`: what the answer must carry besides its shape."""

    name: str
    path: str
    body: dict[str, Any] | bytes | None  # JSON, or bytes sent as they are; None: no body
    schema: str | StreamShape
    status: int = 200
    method: str = "POST"
    caller: str = "tenant"
    shows: Callable[[Seen], None] | None = None


# -- what answers must show -----------------------------------------------------------------


def _message(seen: Seen, index: int = 0) -> dict[str, Any]:
    message: dict[str, Any] = seen.body["choices"][index]["message"]
    return message


def text_answer(seen: Seen) -> None:
    assert _message(seen)["content"]
    assert seen.body["choices"][0]["finish_reason"] == "stop"
    assert seen.body["usage"]["completion_tokens"] > 0


def search_call(seen: Seen) -> None:
    (call,) = _message(seen)["tool_calls"]
    assert call["function"]["name"] == "search"
    assert json.loads(call["function"]["arguments"]) == {"query": "weather in Lyon"}
    assert seen.body["choices"][0]["finish_reason"] == "tool_calls"


def function_call(seen: Seen) -> None:
    call = _message(seen)["function_call"]
    assert call["name"] == "search"
    assert json.loads(call["arguments"]) == {"query": "weather in Lyon"}
    assert seen.body["choices"][0]["finish_reason"] == "function_call"


def filtered(seen: Seen) -> None:
    assert seen.body["choices"][0]["finish_reason"] == "content_filter"


def two_choices(seen: Seen) -> None:
    assert sorted(choice["index"] for choice in seen.body["choices"]) == [0, 1]
    assert all(choice["message"]["content"] for choice in seen.body["choices"])


def a_trip(seen: Seen) -> None:
    trip = json.loads(_message(seen)["content"])
    assert set(trip) == {"city", "nights"}


def assembled(seen: Seen) -> dict[int, dict[str, Any]]:
    """A stream's choices by index: their text, tool calls and finish reason; the usage under
    -1."""
    choices: dict[int, dict[str, Any]] = {}
    for chunk in seen.body:
        if chunk.get("usage"):
            choices[-1] = chunk["usage"]
        for choice in chunk.get("choices") or []:
            into = choices.setdefault(choice["index"], {"text": "", "calls": {}, "finish": None})
            delta = choice["delta"]
            into["text"] += delta.get("content") or ""
            for call in delta.get("tool_calls") or []:
                entry = into["calls"].setdefault(call["index"], {"name": "", "arguments": ""})
                entry["name"] += (call.get("function") or {}).get("name") or ""
                entry["arguments"] += (call.get("function") or {}).get("arguments") or ""
            into["finish"] = choice["finish_reason"] or into["finish"]
    return choices


def streamed_text(seen: Seen) -> None:
    choices = assembled(seen)
    assert choices[0]["text"]
    assert choices[0]["finish"] == "stop"
    assert choices[-1]["completion_tokens"] > 0


def streamed_text_without_usage(seen: Seen) -> None:
    choices = assembled(seen)
    assert choices[0]["text"]
    assert -1 not in choices


def streamed_search_call(seen: Seen) -> None:
    choices = assembled(seen)
    assert [call["name"] for call in choices[0]["calls"].values()] == ["search"]
    assert json.loads(choices[0]["calls"][0]["arguments"]) == {"query": "weather in Lyon"}
    assert choices[0]["finish"] == "tool_calls"


def streamed_function_call(seen: Seen) -> None:
    name = arguments = ""
    finish = None
    for chunk in seen.body:
        for choice in chunk.get("choices") or []:
            call = choice["delta"].get("function_call") or {}
            name += call.get("name") or ""
            arguments += call.get("arguments") or ""
            finish = choice["finish_reason"] or finish
    assert (name, json.loads(arguments), finish) == (
        "search",
        {"query": "weather in Lyon"},
        "function_call",
    )


def streamed_two_choices(seen: Seen) -> None:
    choices = assembled(seen)
    assert sorted(i for i in choices if i >= 0) == [0, 1]
    assert all(choices[i]["text"] and choices[i]["finish"] == "stop" for i in (0, 1))


def streamed_trip(seen: Seen) -> None:
    assert set(json.loads(assembled(seen)[0]["text"])) == {"city", "nights"}


def ends_with_error(seen: Seen) -> None:
    assert seen.body[-1]["error"]["code"] in ("upstream_server_error", "upstream_overloaded")


def refused(param: str) -> Callable[[Seen], None]:
    def check(seen: Seen) -> None:
        assert seen.body["error"]["param"] == param

    return check


def coded(code: str) -> Callable[[Seen], None]:
    def check(seen: Seen) -> None:
        assert seen.body["error"]["code"] == code

    return check


def retry_after_kept(seen: Seen) -> None:
    assert seen.body["error"]["code"] == "rate_limit_exceeded"
    assert seen.response.headers["retry-after"] == "7"


def embedded(seen: Seen) -> None:
    assert [item["index"] for item in seen.body["data"]] == [0, 1]
    assert all(item["embedding"] for item in seen.body["data"])


def completed(seen: Seen) -> None:
    (choice,) = seen.body["choices"]
    assert choice["text"] == "Echo: hello from the spec"
    assert choice["finish_reason"] == "stop"
    assert seen.body["object"] == "text_completion"
    assert seen.body["usage"]["completion_tokens"] > 0


def completed_twice(seen: Seen) -> None:
    texts = [(choice["index"], choice["text"]) for choice in seen.body["choices"]]
    assert texts == [(0, "Echo: one"), (1, "Echo: two")]


def named(model: str) -> Callable[[Seen], None]:
    def check(seen: Seen) -> None:
        assert (seen.body["id"], seen.body["object"]) == (model, "model")

    return check


def lists(model: str) -> Callable[[Seen], None]:
    def check(seen: Seen) -> None:
        assert model in [item["id"] for item in seen.body["data"]]

    return check


# -- the table ------------------------------------------------------------------------------


def chat_cells(up: Upstream) -> list[Cell]:
    """`POST /v1/chat/completions`, plain and streamed."""
    hello = {"model": up.chat, "messages": HELLO}
    tools = {"model": up.chat, "messages": QUESTION, "tools": OPENAI_TOOLS}
    turn = {"model": up.chat, "messages": TOOL_TURN, "tools": OPENAI_TOOLS}
    legacy = {"model": up.chat, "messages": QUESTION, "functions": FUNCTIONS}
    legacy_turn = {"model": up.chat, "messages": FUNCTION_TURN, "functions": FUNCTIONS}
    two = {**hello, "n": 2}
    trip = {**hello, "response_format": TRIP}
    plain = "CreateChatCompletionResponse"
    cells = [
        Cell("chat", CHAT, hello, plain, shows=text_answer),
        Cell("chat-streamed", CHAT, {**hello, **WITH_USAGE}, CHAT_CHUNKS, shows=streamed_text),
        Cell(
            "chat-streamed-no-usage",
            CHAT,
            {**hello, "stream": True},
            CHAT_CHUNKS,
            shows=streamed_text_without_usage,
        ),
        Cell("tool-call", CHAT, tools, plain, shows=search_call),
        Cell(
            "tool-call-streamed",
            CHAT,
            {**tools, **WITH_USAGE},
            CHAT_CHUNKS,
            shows=streamed_search_call,
        ),
        Cell("tool-result", CHAT, turn, plain, shows=text_answer),
        Cell("function-call", CHAT, legacy, plain, shows=function_call),
        Cell(
            "function-call-streamed",
            CHAT,
            {**legacy, **WITH_USAGE},
            CHAT_CHUNKS,
            shows=streamed_function_call,
        ),
        Cell("function-result", CHAT, legacy_turn, plain, shows=text_answer),
        Cell("structured", CHAT, trip, plain, shows=a_trip),
        Cell("structured-streamed", CHAT, {**trip, **WITH_USAGE}, CHAT_CHUNKS, shows=streamed_trip),
    ]
    if "filtered" in up.failing:
        body = {"model": up.model("filtered"), "messages": HELLO}
        cells.append(Cell("content-filtered", CHAT, body, plain, shows=filtered))
    if up.choices:
        cells += [
            Cell("two-choices", CHAT, two, plain, shows=two_choices),
            Cell(
                "two-choices-streamed",
                CHAT,
                {**two, **WITH_USAGE},
                CHAT_CHUNKS,
                shows=streamed_two_choices,
            ),
        ]
    else:
        cells.append(Cell("two-choices-refused", CHAT, two, ERROR, 400, shows=refused("n")))
    return cells


def embeddings_cells(up: Upstream) -> list[Cell]:
    """`POST /v1/embeddings` (floats: see the module's docstring for base64)."""
    if up.embeddings is None:
        body = {"model": up.chat, "input": "hello"}
        return [Cell("embeddings-refused", EMBEDDINGS, body, ERROR, 400, shows=refused("model"))]
    body = {"model": up.embeddings, "input": ["hello", "world"], "encoding_format": "float"}
    return [
        Cell("embeddings", EMBEDDINGS, body, "CreateEmbeddingResponse", shows=embedded),
        Cell(
            "embeddings-bad-input",
            EMBEDDINGS,
            {"model": up.embeddings, "input": []},
            ERROR,
            400,
            shows=refused("input"),
        ),
        Cell("embeddings-no-key", EMBEDDINGS, body, ERROR, 401, caller="nobody"),
    ]


def models_cells(up: Upstream) -> list[Cell]:
    """`GET /v1/models` and `GET /v1/models/{id}`."""
    one = f"{MODELS}/{up.chat}"
    return [
        Cell("models", MODELS, None, "ListModelsResponse", method="GET", shows=lists(up.chat)),
        Cell("models-unknown-key", MODELS, None, ERROR, 401, method="GET", caller="stranger"),
        Cell("model", one, None, "Model", method="GET", shows=named(up.chat)),
        Cell(
            "model-unknown",
            f"{MODELS}/no-such-{up.slug}-model",
            None,
            ERROR,
            404,
            method="GET",
            shows=coded("model_not_found"),
        ),
        Cell("model-unknown-key", one, None, ERROR, 401, method="GET", caller="stranger"),
    ]


def completions_cells(up: Upstream) -> list[Cell]:
    """`POST /v1/completions`: natively to the OpenAI kinds, translated for the others."""
    hello = {"model": up.completion, "prompt": "hello from the spec"}
    plain = "CreateCompletionResponse"
    cells = [
        Cell("completion", COMPLETIONS, hello, plain, shows=completed),
        Cell(
            "completion-two-prompts",
            COMPLETIONS,
            {**hello, "prompt": ["one", "two"]},
            plain,
            shows=completed_twice,
        ),
        Cell(
            "completion-no-prompt",
            COMPLETIONS,
            {"model": up.completion},
            ERROR,
            400,
            shows=refused("prompt"),
        ),
        Cell("completion-no-key", COMPLETIONS, hello, ERROR, 401, caller="nobody"),
        Cell(
            "completion-502-upstream",
            COMPLETIONS,
            {"model": up.model("broken"), "prompt": "hi"},
            ERROR,
            502,
            shows=coded("upstream_server_error"),
        ),
    ]
    if up.kind not in ("openai", "openai-compatible"):
        body = {**hello, "suffix": "!"}
        cells.append(
            Cell(
                "completion-suffix-refused", COMPLETIONS, body, ERROR, 400, shows=refused("suffix")
            )
        )
    return cells


def error_cells(up: Upstream) -> list[Cell]:
    """The errors of `POST /v1/chat/completions`: the gateway's own, and each upstream's."""
    hello = {"model": up.chat, "messages": HELLO}

    def failing(condition: str, **extra: Any) -> dict[str, Any]:
        return {"model": up.model(condition), "messages": HELLO, **extra}

    cells = [
        Cell("400-no-messages", CHAT, {"model": up.chat}, ERROR, 400, shows=refused("messages")),
        Cell("400-malformed-json", CHAT, b'{"model": ', ERROR, 400),
        Cell("400-upstream", CHAT, failing("invalid"), ERROR, 400, shows=coded("invalid_request")),
        Cell(
            "400-upstream-streamed",
            CHAT,
            failing("invalid", stream=True),
            ERROR,
            400,
            shows=coded("invalid_request"),
        ),
        Cell("401-no-key", CHAT, hello, ERROR, 401, caller="nobody"),
        Cell("401-unknown-key", CHAT, hello, ERROR, 401, caller="stranger"),
        Cell(
            "404-unknown-model",
            CHAT,
            {"model": f"no-such-{up.slug}-model", "messages": HELLO},
            ERROR,
            404,
            shows=coded("model_not_found"),
        ),
        Cell("404-upstream", CHAT, failing("missing"), ERROR, 404, shows=coded("model_not_found")),
        Cell(
            "404-unknown-path",
            "/v1/chat/nothing",
            hello,
            ERROR,
            404,
            shows=coded("unknown_path"),
        ),
        Cell("405-wrong-method", EMBEDDINGS, None, ERROR, 405, method="GET"),
        Cell("429-upstream", CHAT, failing("limited"), ERROR, 429, shows=retry_after_kept),
        Cell(
            "429-upstream-streamed",
            CHAT,
            failing("limited", stream=True),
            ERROR,
            429,
            shows=retry_after_kept,
        ),
        Cell(
            "429-rate-limit",
            CHAT,
            hello,
            ERROR,
            429,
            caller="throttled",
            shows=coded("rate_limit_exceeded"),
        ),
        Cell(
            "502-upstream",
            CHAT,
            failing("broken"),
            ERROR,
            502,
            shows=coded("upstream_server_error"),
        ),
        Cell(
            "502-upstream-streamed",
            CHAT,
            failing("broken", stream=True),
            ERROR,
            502,
            shows=coded("upstream_server_error"),
        ),
    ]
    if "stream-error" in up.failing:
        body = failing("stream-error", stream=True)
        cells.append(Cell("error-mid-stream", CHAT, body, CHAT_CHUNKS, shows=ends_with_error))
    return cells


def responded(seen: Seen) -> None:
    assert seen.body["status"] == "completed"
    (message,) = [item for item in seen.body["output"] if item["type"] == "message"]
    assert message["content"][0]["text"]
    assert seen.body["usage"]["output_tokens"] > 0


def responded_call(seen: Seen) -> None:
    (call,) = [item for item in seen.body["output"] if item["type"] == "function_call"]
    assert (call["name"], json.loads(call["arguments"])) == ("search", {"query": "weather in Lyon"})


def streamed_response(seen: Seen) -> None:
    kinds = [event["type"] for event in seen.body]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    assert [event["sequence_number"] for event in seen.body] == list(range(len(kinds)))


def responses_cells(up: Upstream) -> list[Cell]:
    hello = {"model": up.chat, "input": "hello from the spec", "instructions": "Be terse."}
    tools = {
        "model": up.chat,
        "input": "weather in Lyon",
        "tools": [
            {"type": "function", "name": "search", "parameters": SEARCH_SCHEMA, "strict": False}
        ],
    }
    return [
        Cell("response", RESPONSES, hello, "Response", shows=responded),
        Cell(
            "response-streamed",
            RESPONSES,
            {**hello, "stream": True},
            RESPONSE_EVENTS,
            shows=streamed_response,
        ),
        Cell("response-tool-call", RESPONSES, tools, "Response", shows=responded_call),
        Cell(
            "response-bad-input",
            RESPONSES,
            {"model": up.chat, "input": 42},
            ERROR,
            400,
            shows=refused("input"),
        ),
        Cell(
            "response-no-previous",
            RESPONSES,
            {**hello, "previous_response_id": "resp_never_issued"},
            ERROR,
            404,
            shows=refused("previous_response_id"),
        ),
    ]


ROUTES: list[Callable[[Upstream], list[Cell]]] = [
    chat_cells,
    embeddings_cells,
    models_cells,
    completions_cells,
    error_cells,
    responses_cells,
]
"""Each route's cells for one kind of upstream, in the order they run."""


def cells_for(up: Upstream) -> list[Cell]:
    """Every cell of every route in `ROUTES` for the kind `up`.

    A route the gateway gains is covered by one more function in `ROUTES` that returns its
    cells, each naming the component its answer must match (the test checks the document names
    that same component for the operation, status and media type), and its stream's
    `StreamShape` (as `completions_cells` and `models_cells` cover `POST /v1/completions`, its
    streams aside (see the module's docstring), and `GET /v1/models/{id}`). `POST
    /v1/responses`: `"Response"` plain, `RESPONSE_EVENTS` streamed; `GET /v1/responses/{id}`
    `"Response"`, `/input_items` `"ResponseItemList"`. Its errors go in the same function, with
    `ERROR` and their status."""
    return [cell for route in ROUTES for cell in route(up)]


CASES = [
    pytest.param(up, cell, id=f"{up.slug}-{cell.name}")
    for up in UPSTREAMS
    for cell in cells_for(up)
]


# -- the gateway -------------------------------------------------------------------------------


def spec_providers(urls: dict[str, str]) -> list[dict[str, Any]]:
    """`spec-<kind>`: the fake's models that fail on purpose, by condition."""
    return [
        {
            "name": f"spec-{up.slug}",
            "kind": up.kind,
            "base_url": urls[up.kind],
            "api_key": "${TEST_UPSTREAM_KEY}",
            "models": [{"name": name, "upstream": model} for name, model in up.failing.items()],
        }
        for up in UPSTREAMS
    ]


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite"),
        pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ],
)
def spec_gateway(
    request: pytest.FixtureRequest,
    upstream: FakeOpenAI,
    anthropic_upstream: FakeAnthropic,
    gemini_upstream: FakeGemini,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    """The module's gateway on each shape: the session gateways' providers and `spec-<kind>`."""
    urls = {
        "openai": upstream.base_url,
        "openai-compatible": upstream.base_url,
        "anthropic": anthropic_upstream.base_url,
        "gemini": gemini_upstream.base_url,
    }
    with own_gateway(
        request.param,
        tmp_path_factory.mktemp(f"gateway-spec-{request.param}"),
        functools.partial(
            gateway_config,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
            anthropic_url=anthropic_upstream.base_url,
            gemini_url=gemini_upstream.base_url,
            extra_providers=spec_providers(urls),
        ),
        upstream_key=UPSTREAM_KEY,
    ) as process:
        yield process


@pytest.fixture(scope="module")
def key(spec_gateway: GatewayProcess) -> str:
    with spec_gateway.admin() as admin:
        return create_tenant(admin, "answers-spec").key


def throttled_key(gateway: GatewayProcess) -> str:
    """A key of its own, limited to one request a minute."""
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"answers-spec-rpm-{secrets.token_hex(3)}")
        limited = admin.put(f"/keys/{tenant.key_id}/limits", json={"rpm": 1})
        assert limited.status_code == 200, limited.text
    return tenant.key


def ask(gateway: GatewayProcess, key: str, cell: Cell) -> Seen:
    """The cell's request, its answer validated against OpenAI's document."""
    headers = {} if cell.caller == "nobody" else {"Authorization": f"Bearer {key}"}
    content = cell.body if isinstance(cell.body, bytes) else None
    body = None if isinstance(cell.body, bytes) else cell.body
    with httpx.Client(base_url=gateway.base_url, headers=headers, timeout=30) as http:
        if isinstance(cell.schema, StreamShape):
            with connect_sse(http, cell.method, cell.path, json=body) as source:
                assert source.response.status_code == cell.status, source.response.read()
                media = source.response.headers["content-type"].split(";")[0]
                declared = declared_answer(cell.method, cell.path, cell.status) or {}
                if media in (declared.get("content") or {}):
                    named = answer_schema(cell.method, cell.path, cell.status, media)
                    assert named == cell.schema.schema, f"the document streams {named}"
                return Seen(source.response, validate_stream(source.iter_sse(), cell.schema))
        response = http.request(cell.method, cell.path, json=body, content=content)
        assert response.status_code == cell.status, response.text
        return Seen(response, validate_answer(response, cell.schema))


def ask_until_throttled(gateway: GatewayProcess, cell: Cell) -> Seen:
    """The cell's request with a key at `rpm: 1`, until the gateway refuses it (its limits
    reach every process within a second)."""
    key = throttled_key(gateway)
    deadline = time.monotonic() + 15
    while True:
        try:
            return ask(gateway, key, cell)
        except SpecMismatch:
            raise
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize(("up", "cell"), CASES)
def test_the_answer_matches_openais_document(
    spec_gateway: GatewayProcess, key: str, up: Upstream, cell: Cell
) -> None:
    if cell.caller == "throttled":
        seen = ask_until_throttled(spec_gateway, cell)
    else:
        secret = "fr-" + secrets.token_urlsafe(32) if cell.caller == "stranger" else key
        seen = ask(spec_gateway, secret, cell)
    if cell.shows is not None:
        cell.shows(seen)
