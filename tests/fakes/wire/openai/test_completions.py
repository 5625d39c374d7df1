"""Legacy text completions (`POST /v1/completions`), whole and streamed, as the official `openai`
SDK parses them; and the bytes of every exchange, as the fake records them."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.wire.openai.support import API_KEY

MODEL = "gpt-3.5-turbo-instruct"
PROMPT = "Say this is a test"
TEXT = "Echo: Say this is a test"


def test_plain_completion(client: openai.OpenAI) -> None:
    completion = client.completions.create(model=MODEL, prompt=PROMPT)
    assert completion.object == "text_completion"
    assert completion.id.startswith("cmpl-")
    assert completion.model == MODEL
    (choice,) = completion.choices
    assert (choice.index, choice.text, choice.finish_reason) == (0, TEXT, "stop")
    assert choice.logprobs is None
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 6)
    assert completion.usage.total_tokens == 11


def test_streamed_completion_with_usage(client: openai.OpenAI) -> None:
    stream = client.completions.create(
        model=MODEL, prompt=PROMPT, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert all(chunk.object == "text_completion" for chunk in chunks)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == TEXT
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert set(finishes[:-1]) == {None}
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 6
    assert all(chunk.usage is None for chunk in chunks[:-1])


def test_stream_without_usage_has_no_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(client.completions.create(model=MODEL, prompt=PROMPT, stream=True))
    assert all(chunk.choices for chunk in chunks)
    assert all(chunk.usage is None for chunk in chunks)


def test_max_tokens_defaults_to_16_and_cuts_at_length(client: openai.OpenAI) -> None:
    long_prompt = " ".join(f"w{i}" for i in range(30))
    completion = client.completions.create(model=MODEL, prompt=long_prompt)
    assert len(completion.choices[0].text.split()) == 16
    assert completion.choices[0].finish_reason == "length"
    short = client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=2)
    assert (short.choices[0].text, short.choices[0].finish_reason) == ("Echo: Say", "length")


def test_several_prompts_and_choices_are_indexed_prompt_after_prompt(
    client: openai.OpenAI,
) -> None:
    completion = client.completions.create(model=MODEL, prompt=["one", "two three"], n=2)
    assert [(c.index, c.text) for c in completion.choices] == [
        (0, "Echo: one"),
        (1, "Echo: one"),
        (2, "Echo: two three"),
        (3, "Echo: two three"),
    ]
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 3
    assert completion.usage.completion_tokens == 2 * 2 + 3 * 2


def test_token_arrays(client: openai.OpenAI) -> None:
    single = client.completions.create(model=MODEL, prompt=[1212, 318])
    assert single.choices[0].text == "Echo: t1212 t318"
    several = client.completions.create(model=MODEL, prompt=[[1], [2, 3]])
    assert [c.text for c in several.choices] == ["Echo: t1", "Echo: t2 t3"]


def test_echo_stop_logprobs_and_best_of(client: openai.OpenAI) -> None:
    echoed = client.completions.create(model=MODEL, prompt="hi there", echo=True, logprobs=2)
    choice = echoed.choices[0]
    assert choice.text == "hi there" + "Echo: hi there"
    assert choice.logprobs is not None
    assert choice.logprobs.tokens is not None
    assert "".join(choice.logprobs.tokens) == choice.text
    assert choice.logprobs.token_logprobs is not None
    assert choice.logprobs.token_logprobs[0] is None
    assert choice.logprobs.top_logprobs is not None
    assert all(len(top) == 2 for top in choice.logprobs.top_logprobs)
    stopped = client.completions.create(model=MODEL, prompt="a b c", stop=[" b"])
    assert (stopped.choices[0].text, stopped.choices[0].finish_reason) == ("Echo: a", "stop")
    best = client.completions.create(model=MODEL, prompt="x", best_of=3)
    assert len(best.choices) == 1
    assert best.usage is not None
    assert best.usage.completion_tokens == 2 * 3
    assert client.completions.create(model=MODEL, prompt="x", suffix="!").choices


def test_chat_model_and_unknown_model_are_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as chat_model:
        client.completions.create(model="gpt-4o-mini", prompt=PROMPT)
    assert "chat model" in chat_model.value.message
    with pytest.raises(openai.NotFoundError) as unknown:
        client.completions.create(model="no-such-model", prompt=PROMPT)
    assert unknown.value.code == "model_not_found"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": MODEL}, "prompt"),
        ({"model": MODEL, "prompt": [1, "a"]}, "prompt"),
        (
            {"model": MODEL, "prompt": "x", "stream_options": {"include_usage": True}},
            "stream_options",
        ),
        ({"model": MODEL, "prompt": "x", "best_of": 1, "n": 2}, "best_of"),
        ({"model": MODEL, "prompt": "x", "stream": True, "best_of": 2}, "best_of"),
        ({"model": MODEL, "prompt": "x", "logprobs": 6}, "logprobs"),
        ({"model": MODEL, "prompt": "x", "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"model": MODEL, "prompt": "x", "temperature": 3}, "temperature"),
    ],
)
def test_bad_requests_are_openai_400s(
    fake: FakeOpenAI, body: dict[str, object], param: str
) -> None:
    answer = httpx.post(
        f"{fake.base_url}/completions", json=body, headers={"Authorization": f"Bearer {API_KEY}"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param
    assert answer.json()["error"]["type"] == "invalid_request_error"


def test_every_exchange_is_kept_as_bytes(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.clear()
    sent = b'{"model": "gpt-3.5-turbo-instruct",  "prompt": "caf\\u00e9", "x-extra": [1.50]}'
    plain = httpx.post(
        f"{fake.base_url}/completions",
        content=sent,
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    streamed = httpx.post(
        f"{fake.base_url}/completions",
        json={"model": MODEL, "prompt": "x", "stream": True},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    first, second = fake.exchanges
    assert (first.method, first.path, first.received) == ("POST", "/v1/completions", sent)
    assert bytes(first.sent) == plain.content
    assert json.loads(first.sent)["choices"][0]["text"] == "Echo: café"
    assert bytes(second.sent) == streamed.content
    assert second.sent.endswith(b"data: [DONE]\n\n")
