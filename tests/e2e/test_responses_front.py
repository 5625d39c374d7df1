"""The Responses API in front: the official `openai` SDK through `/v1/responses` to every kind of
upstream (natively to OpenAI, translated to the rest), on both shapes: plain, streamed, parsed
and function-call answers with usage and cost checked in each cell, the stored responses
(retrieve, input items, delete, `previous_response_id`) kept to their org, and the Agents SDK
on its default Responses model."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
from pydantic import BaseModel

from tests.fakes.openai_upstream.models import CACHED_INPUT_TOKENS, REASONING_TOKENS
from tests.support.gateway import LIMITS_RELOAD, GatewayProcess
from tests.support.matrix import CHAT_MODELS, SEARCH_SCHEMA, assert_usage_recorded
from tests.support.openai_spec import validate_answer
from tests.support.tenants import Tenant, create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

TOOLS: Any = [
    {
        "type": "function",
        "name": "search",
        "description": "Search the web",
        "parameters": SEARCH_SCHEMA,
        "strict": False,
    }
]
STRUCTURED_MODELS = ["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash"]  # fakes fill schemas
DEFAULT_OUTPUT = 4096  # `billing.default_max_output_tokens`: what a request without one reserves


class Stop(BaseModel):
    city: str
    nights: int


class Trip(BaseModel):
    title: str
    stops: list[Stop]


def sdk(gateway: GatewayProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0)


class Cell:
    """One key per cell, so its usage reads back alone."""

    def __init__(self, gateway: GatewayProcess, model: str) -> None:
        with gateway.admin() as admin:
            self.tenant = create_tenant(admin, f"responses-{model}-{secrets.token_hex(2)}")
        self.gateway, self.model = gateway, model
        self.client = sdk(gateway, self.tenant.key)
        self.seen: list[Any] = []

    def create(self, **kwargs: Any) -> Any:
        response = self.client.responses.create(model=self.model, **kwargs)
        self.seen.append(response.usage)
        return response

    def stream(self, **kwargs: Any) -> tuple[list[str], Any]:
        with self.client.responses.stream(model=self.model, **kwargs) as stream:
            kinds = [event.type for event in stream]
            final = stream.get_final_response()
        self.seen.append(final.usage)
        return kinds, final

    def check_usage_and_cost(self) -> None:
        assert all(usage is not None for usage in self.seen)
        for usage in self.seen:
            assert usage.total_tokens == usage.input_tokens + usage.output_tokens
        assert_usage_recorded(
            self.gateway,
            self.tenant.key_id,
            self.model,
            [
                (u.input_tokens, u.input_tokens_details.cached_tokens, u.output_tokens)
                for u in self.seen
            ],
        )


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_plain_and_streamed_answers_are_stored_and_billed(
    gateway: GatewayProcess, model: str
) -> None:
    cell = Cell(gateway, model)
    plain = cell.create(input="hello from the front", instructions="You are terse.")
    assert plain.status == "completed"
    assert plain.output_text == "Echo: hello from the front"
    assert plain.instructions == "You are terse."
    kinds, final = cell.stream(input=[{"role": "user", "content": "hello from the front"}])
    assert final.output_text == plain.output_text
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    assert final.usage.output_tokens == plain.usage.output_tokens

    # both are stored as answered: retrieved, their input listed
    assert cell.client.responses.retrieve(plain.id).model_dump() == plain.model_dump()
    stored = cell.client.responses.retrieve(final.id)  # `final` is parsed: read field by field
    assert (stored.status, stored.output_text) == (final.status, final.output_text)
    assert [item.id for item in stored.output] == [item.id for item in final.output]
    assert stored.usage == final.usage
    items = cell.client.responses.input_items.list(final.id)
    (item,) = items.data
    assert (item.type, item.role) == ("message", "user")
    assert item.content[0].text == "hello from the front"  # type: ignore[union-attr]
    cell.check_usage_and_cost()


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_a_function_call_round_trip_through_previous_response_id(
    gateway: GatewayProcess, model: str
) -> None:
    cell = Cell(gateway, model)
    asked = cell.create(input="weather in Lyon", tools=TOOLS)
    (call,) = [item for item in asked.output if item.type == "function_call"]
    assert (call.name, json.loads(call.arguments)) == ("search", {"query": "weather in Lyon"})

    kinds, streamed = cell.stream(input="weather in Lyon", tools=TOOLS)
    assert "response.function_call_arguments.delta" in kinds
    (again,) = [item for item in streamed.output if item.type == "function_call"]
    assert json.loads(again.arguments) == {"query": "weather in Lyon"}

    answer = cell.create(
        previous_response_id=asked.id,
        tools=TOOLS,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21 C"}],
    )
    assert answer.output_text == "Echo: sunny, 21 C"
    assert answer.previous_response_id == asked.id
    assert answer.usage.input_tokens > asked.usage.input_tokens  # the history was sent
    cell.check_usage_and_cost()


@pytest.mark.parametrize("model", STRUCTURED_MODELS)
def test_parse_plain_and_streamed(gateway: GatewayProcess, model: str) -> None:
    cell = Cell(gateway, model)
    question = "plan a trip to Lyon"
    parsed = cell.client.responses.parse(model=model, input=question, text_format=Trip)
    assert isinstance(parsed.output_parsed, Trip)
    assert parsed.output_parsed.stops[0].city == question
    with cell.client.responses.stream(model=model, input=question, text_format=Trip) as stream:
        final = stream.get_final_response()
    assert final.output_parsed == parsed.output_parsed


def test_stored_responses_belong_to_their_org_and_last_until_deleted(
    gateway: GatewayProcess,
) -> None:
    with gateway.admin() as admin:
        mine = create_tenant(admin, f"responses-mine-{secrets.token_hex(2)}")
        other = create_tenant(admin, f"responses-other-{secrets.token_hex(2)}")
        colleague = _second_key(admin, mine)
    client, stranger = sdk(gateway, mine.key), sdk(gateway, other.key)
    first = client.responses.create(
        model="claude-haiku-4-5", input=[{"role": "user", "content": f"n{n}"} for n in range(5)]
    )
    # any key of the org reads it; another org's key finds nothing, whatever it tries
    assert sdk(gateway, colleague).responses.retrieve(first.id).id == first.id
    with pytest.raises(openai.NotFoundError):
        stranger.responses.retrieve(first.id)
    with pytest.raises(openai.NotFoundError):
        stranger.responses.input_items.list(first.id)
    with pytest.raises(openai.NotFoundError):
        stranger.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError) as refused:
        stranger.responses.create(
            model="claude-haiku-4-5", input="go on", previous_response_id=first.id
        )
    assert refused.value.body["param"] == "previous_response_id"  # type: ignore[index]

    # the input items, a page at a time, either way round
    pages = client.responses.input_items.list(first.id, limit=2, order="asc")
    assert [item.content[0].text for item in pages] == [f"n{n}" for n in range(5)]  # type: ignore[union-attr]
    newest = client.responses.input_items.list(first.id, limit=2)
    assert newest.has_more
    assert len(newest.data) == 2
    assert newest.data[0].content[0].text == "n4"  # type: ignore[union-attr]

    # a conversation continues where it left off, on another model too
    second = client.responses.create(
        model="gemini-2.5-flash", input="and then", previous_response_id=first.id
    )
    assert second.output_text == "Echo: and then"
    assert second.previous_response_id == first.id

    # store false keeps nothing; a deleted response is gone
    unstored = client.responses.create(model="gpt-4o-mini", input="forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)
    deleted = client.responses.delete(second.id)
    assert deleted is None or getattr(deleted, "deleted", True)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(second.id)
    with httpx.Client(base_url=gateway.base_url, timeout=30) as http:
        again = http.delete(
            f"/v1/responses/{second.id}", headers={"Authorization": f"Bearer {mine.key}"}
        )
        assert again.status_code == 404
        assert again.json()["error"]["type"] == "not_found_error"
        audit = gateway.admin().get("/audit", params={"action": "response.delete"}).json()
        assert any(row["target"] == f"response:{second.id}" for row in audit["rows"])


def test_refusals_are_clear_400s(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"responses-refused-{secrets.token_hex(2)}")
    client = sdk(gateway, tenant.key)
    with pytest.raises(openai.BadRequestError) as background:
        client.responses.create(model="gpt-4o-mini", input="hi", background=True)
    assert background.value.body["param"] == "background"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as builtin:
        client.responses.create(
            model="claude-haiku-4-5", input="hi", tools=[{"type": "web_search"}]
        )
    assert builtin.value.body["param"] == "tools"  # type: ignore[index]
    with httpx.Client(base_url=gateway.base_url, timeout=30) as http:
        bad = http.post(
            "/v1/responses",
            content=b"{not json",
            headers={"Authorization": f"Bearer {tenant.key}"},
        )
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "invalid_json"
        auth = {"Authorization": f"Bearer {tenant.key}"}
        strange = "resp_\u0000x"  # stored nowhere: never looked for
        previous = http.post(
            "/v1/responses",
            json={"model": "gpt-4o-mini", "input": "hi", "previous_response_id": strange},
            headers=auth,
        )
        assert previous.status_code == 404
        assert previous.json()["error"]["param"] == "previous_response_id"
        for path in ("/v1/responses/resp_%00", "/v1/responses/%E2%98%83/input_items"):
            assert http.get(path, headers=auth).status_code == 404
        kept = client.responses.create(model="gpt-4o-mini", input="a \u0000 in the text")
        after = http.get(
            f"/v1/responses/{kept.id}/input_items", params={"after": "\u0000"}, headers=auth
        )
        assert after.status_code == 400
        assert after.json()["error"]["param"] == "after"
        streamed = http.get(f"/v1/responses/{kept.id}", params={"stream": "true"}, headers=auth)
        assert streamed.status_code == 400


def test_the_agents_sdk_on_its_default_responses_model(gateway: GatewayProcess) -> None:
    set_tracing_disabled(True)
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"responses-agents-{secrets.token_hex(2)}")
    searched: list[str] = []

    @function_tool
    def search(query: str) -> str:
        """Search the web."""
        searched.append(query)
        return "Lyon is sunny"

    async def run() -> Any:
        client = openai.AsyncOpenAI(
            base_url=f"{gateway.base_url}/v1", api_key=tenant.key, max_retries=0
        )
        model = OpenAIResponsesModel(model="claude-haiku-4-5", openai_client=client)
        agent = Agent(name="weather", model=model, tools=[search])
        result = await Runner.run(agent, "weather in Lyon")
        await client.close()
        return result.final_output

    final = asyncio.run(run())
    assert searched == ["weather in Lyon"]
    assert final == "Echo: Lyon is sunny"


def _second_key(admin: httpx.Client, tenant: Tenant) -> str:
    key = admin.post("/keys", json={"team_id": tenant.team_id, "name": "colleague"})
    assert key.status_code == 201, key.text
    return str(key.json()["key"])


@pytest.mark.parametrize("model", ["local-runaway"])
def test_a_budget_cuts_a_streamed_response_and_bills_it_exactly(
    gateway: GatewayProcess, model: str
) -> None:
    """The model ignores every output limit; the key's budget reserves the default output
    (`billing.default_max_output_tokens`), so the stream is cut there, ends `incomplete` for
    `max_output_tokens`, and is billed for the usage it ends with, never past the reservation."""
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"responses-cut-{secrets.token_hex(2)}")
        budget = admin.put(
            f"/keys/{tenant.key_id}/budget", json={"period": "total", "max_usd": "100"}
        )
        assert budget.status_code == 200, budget.text
    time.sleep(LIMITS_RELOAD)
    client = sdk(gateway, tenant.key)
    with client.responses.stream(model=model, input="write forever") as stream:
        events = list(stream)  # the SDK's final response is only a completed one's
    assert events[-1].type == "response.incomplete"
    final = events[-1].response  # type: ignore[union-attr]
    assert final.status == "incomplete"
    assert final.incomplete_details is not None
    assert final.incomplete_details.reason == "max_output_tokens"
    assert 0 < final.usage.output_tokens <= DEFAULT_OUTPUT
    assert client.responses.retrieve(final.id).status == "incomplete"  # stored as it ended
    usage = final.usage
    cost = (usage.input_tokens * 1 + usage.output_tokens * 100) / Decimal(1_000_000)

    def spent() -> dict[str, Any]:
        with gateway.admin() as admin:
            rows = admin.get("/usage", params={"group_by": "key"}).json()["rows"]
        return next((row for row in rows if row["key"] == tenant.key_id), {})

    recorded = eventually(spent)
    assert (recorded["input_tokens"], recorded["output_tokens"]) == (
        usage.input_tokens,
        usage.output_tokens,
    )
    assert Decimal(recorded["cost_usd"]) == cost


def test_stored_responses_and_their_items_match_openais_document(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"responses-spec-{secrets.token_hex(2)}")
    headers = {"Authorization": f"Bearer {tenant.key}"}
    with httpx.Client(base_url=gateway.base_url, headers=headers, timeout=30) as http:
        for model in ("gpt-4o-mini", "claude-haiku-4-5"):
            made = http.post("/v1/responses", json={"model": model, "input": "hello spec"})
            response = validate_answer(made, "Response")
            stored = http.get(f"/v1/responses/{response['id']}")
            assert validate_answer(stored, "Response") == response
            items = http.get(f"/v1/responses/{response['id']}/input_items")
            listed = validate_answer(items, "ResponseItemList")
            assert listed["first_id"] == listed["last_id"] == listed["data"][0]["id"]


@pytest.mark.parametrize("model", ["o-cached-reasoning", "local-cached-reasoning"])
def test_cached_and_reasoning_tokens_are_reported_and_billed(
    gateway: GatewayProcess, model: str
) -> None:
    """Natively (openai) and translated (openai-compatible), plain and streamed: the usage
    names the cached input and the reasoning output, and the cached input is billed at its
    price ($1 input, $0.5 cached, $4 output a million tokens)."""
    cell = Cell(gateway, model)
    plain = cell.create(input="think hard about caching long prompts today")
    _, streamed = cell.stream(input="think hard about caching long prompts today")
    for usage in (plain.usage, streamed.usage):
        assert usage.input_tokens_details.cached_tokens == CACHED_INPUT_TOKENS
        assert usage.output_tokens_details.reasoning_tokens == REASONING_TOKENS
    seen = [plain.usage, streamed.usage]
    cost = sum(
        (
            (u.input_tokens - u.input_tokens_details.cached_tokens) * Decimal(1)
            + u.input_tokens_details.cached_tokens * Decimal("0.5")
            + u.output_tokens * Decimal(4)
        )
        / Decimal(1_000_000)
        for u in seen
    )

    def spent() -> dict[str, Any]:
        with gateway.admin() as admin:
            rows = admin.get("/usage", params={"group_by": "key"}).json()["rows"]
        mine = [row for row in rows if row["key"] == cell.tenant.key_id]
        return mine[0] if mine and mine[0]["requests"] == len(seen) else {}

    recorded = eventually(spent)
    assert recorded["input_tokens"] == sum(u.input_tokens for u in seen)
    assert recorded["output_tokens"] == sum(u.output_tokens for u in seen)
    assert Decimal(recorded["cost_usd"]) == cost


def _sse_events(http: httpx.Client, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of a streamed `POST /v1/responses`, as the client reads them."""
    events = []
    with http.stream("POST", "/v1/responses", json={**body, "stream": True}) as streamed:
        assert streamed.status_code == 200, streamed.read()
        for line in streamed.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
    return events


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-haiku-4-5"])  # native, translated
def test_a_continued_response_names_its_previous_response_plain_and_streamed(
    gateway: GatewayProcess, model: str
) -> None:
    """The upstream is sent the whole conversation, never the stored id: every response the
    client is shown (the plain answer, each event that carries the response) and what is
    stored name the `previous_response_id` the request continued."""
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"responses-previous-{secrets.token_hex(2)}")
    headers = {"Authorization": f"Bearer {tenant.key}"}
    with httpx.Client(base_url=gateway.base_url, headers=headers, timeout=30) as http:
        first = http.post("/v1/responses", json={"model": model, "input": "first turn"})
        assert first.status_code == 200, first.text
        first_id = first.json()["id"]
        plain = http.post(
            "/v1/responses",
            json={"model": model, "input": "second turn", "previous_response_id": first_id},
        ).json()
        assert plain["previous_response_id"] == first_id
        events = _sse_events(
            http, {"model": model, "input": "third turn", "previous_response_id": plain["id"]}
        )
        carrying = {event["type"]: event["response"] for event in events if "response" in event}
        assert list(carrying) == ["response.created", "response.in_progress", "response.completed"]
        for response in carrying.values():
            assert response["previous_response_id"] == plain["id"]
        streamed = carrying["response.completed"]
        assert [item["content"][0]["text"] for item in streamed["output"]] == ["Echo: third turn"]
        for answered, continued in ((plain, first_id), (streamed, plain["id"])):
            stored = http.get(f"/v1/responses/{answered['id']}")
            assert stored.status_code == 200, stored.text
            assert stored.json()["previous_response_id"] == continued
    # the SDK reads it too
    final = sdk(gateway, tenant.key).responses.create(
        model=model, input="fourth turn", previous_response_id=streamed["id"], stream=True
    )
    kinds = {event.type: event for event in final}
    assert kinds["response.completed"].response.previous_response_id == streamed["id"]  # type: ignore[union-attr]


def test_a_native_response_asked_for_fewer_than_16_tokens_is_answered_and_billed_as_produced(
    gateway: GatewayProcess,
) -> None:
    """OpenAI refuses a `max_output_tokens` under 16: a request asking 5, under a budget (so the
    call is reserved and the upstream asked for no more than that), is sent asking 16, reserves
    16, and is answered and billed for the tokens produced (16 of an echo of 20 words), plain
    and streamed."""
    cell = Cell(gateway, "gpt-4o-mini")
    with gateway.admin() as admin:
        budget = admin.put(
            f"/keys/{cell.tenant.key_id}/budget", json={"period": "total", "max_usd": "100"}
        )
        assert budget.status_code == 200, budget.text
    time.sleep(LIMITS_RELOAD)
    words = " ".join(f"w{n}" for n in range(20))
    plain = cell.create(input=words, max_output_tokens=5)
    assert plain.status == "incomplete"
    assert plain.incomplete_details is not None
    assert plain.incomplete_details.reason == "max_output_tokens"
    assert plain.usage.output_tokens == 16
    with cell.client.responses.stream(
        model="gpt-4o-mini", input=words, max_output_tokens=5
    ) as stream:
        events = list(stream)
    final = events[-1].response  # type: ignore[union-attr]
    assert (events[-1].type, final.usage.output_tokens) == ("response.incomplete", 16)
    cell.seen.append(final.usage)
    cell.check_usage_and_cost()


@pytest.mark.parametrize("model", ["fake-slow-stream", "local-slow-stream"])  # native, translated
def test_a_stream_the_client_leaves_is_stored_cancelled_with_what_it_produced(
    gateway: GatewayProcess, model: str
) -> None:
    """The client reads a few words of a 4 s stream and leaves: the upstream call stops, is
    billed for what it produced, and the response is stored `cancelled` with that output (the
    item cut short `incomplete`), never lost."""
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"responses-left-{secrets.token_hex(2)}")
    headers = {"Authorization": f"Bearer {tenant.key}"}
    body = {"model": model, "input": "talk", "max_output_tokens": 200, "stream": True}
    deltas: list[str] = []
    with httpx.Client(base_url=gateway.base_url, headers=headers, timeout=30) as http:
        with http.stream("POST", "/v1/responses", json=body) as streamed:
            assert streamed.status_code == 200
            for line in streamed.iter_lines():
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[5:])
                if event["type"] == "response.created":
                    response_id = event["response"]["id"]
                elif event["type"] == "response.output_text.delta":
                    deltas.append(event["delta"])
                    if len(deltas) == 3:
                        break  # the client leaves

        def stored() -> dict[str, Any]:
            found = http.get(f"/v1/responses/{response_id}")
            return found.json() if found.status_code == 200 else {}

        response = eventually(stored)
    assert response["status"] == "cancelled"
    [item] = response["output"]
    assert item["status"] == "incomplete"
    text = item["content"][0]["text"] if item["content"] else ""
    assert text.startswith("".join(deltas))
    assert len(text.split()) < 200, "stopped, not run to its end"

    def billed() -> dict[str, Any]:
        with gateway.admin() as admin:
            rows = admin.get("/usage", params={"group_by": "key"}).json()["rows"]
        return next((row for row in rows if row["key"] == tenant.key_id), {})

    assert 0 < eventually(billed)["output_tokens"] < 200
