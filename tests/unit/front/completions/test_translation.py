"""The legacy completions front door's translation: a completions body becomes a chat body or a
clear 400 naming its parameter, whatever it holds; chat answers and streams come back as
`text_completion`s; a stream cut at its reservation ends at its `length`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.providers.stream_relay import openai_sse_cut
from domains.providers.errors import InvalidRequest
from domains.providers.output_limit import max_output_tokens
from domains.providers.ports import Usage
from interfaces.http.openai.translate_completions import (
    chat_to_completion,
    completion_to_chat,
    counted_as_chat,
    merged_completions,
    one_per_prompt,
    prompt_problem,
)
from interfaces.http.openai.translate_completions_stream import (
    ChatChunksToCompletions,
    chat_sse_to_completions,
    completions_sse_cut,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
prompts = st.one_of(
    st.text(max_size=12),
    st.lists(st.text(max_size=6), max_size=3),
    st.lists(st.integers(-5, 100_000), max_size=3),
    st.lists(st.lists(st.integers(0, 9), max_size=2), max_size=2),
    json_values,
)
near_bodies = st.fixed_dictionaries(
    {"model": st.sampled_from(["m", ""]) | json_values, "prompt": prompts},
    optional={
        key: json_values | values
        for key, values in {
            "max_tokens": st.integers(-2, 50),
            "n": st.integers(0, 4),
            "best_of": st.integers(0, 5),
            "suffix": st.text(max_size=3),
            "echo": st.booleans(),
            "logprobs": st.integers(0, 5),
            "stream": st.booleans(),
            "stream_options": st.fixed_dictionaries({"include_usage": st.booleans()}),
            "stop": st.lists(st.text(max_size=3), max_size=4),
            "temperature": st.floats(0, 2),
            "seed": st.integers(),
            "user": st.text(max_size=4),
        }.items()
    },
)


PARAMETERS = frozenset(
    {"model", "prompt", "max_tokens", "suffix", "echo", "logprobs", "best_of", "stream"}
)


def _translation(body: Any) -> tuple[dict[str, Any] | None, InvalidRequest | None]:
    """(the chat body, None) or (None, the refusal): any other exception fails the test."""
    try:
        return completion_to_chat(body), None
    except InvalidRequest as refused:
        return None, refused


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, near_bodies))
def test_any_body_translates_or_is_a_400_naming_its_parameter(body: Any) -> None:
    chat, refused = _translation(body)
    if refused is not None:
        assert refused.param in PARAMETERS or (refused.param is None and not isinstance(body, dict))
        return
    assert chat is not None
    assert chat["model"] == body["model"]
    (message,) = chat["messages"]
    assert message["role"] == "user"
    assert isinstance(message["content"], str)
    assert message["content"]
    assert chat["max_tokens"] >= 1
    json.dumps(chat)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(near_bodies, st.dictionaries(st.text(max_size=8), json_values, max_size=5)))
def test_what_admission_counts_of_a_native_body_reserves_what_the_upstream_may_make(
    body: dict[str, Any],
) -> None:
    counted = counted_as_chat(body)  # never raises: the upstream judges the body
    json.dumps(counted)
    assert counted["max_tokens"] >= 1
    assert counted["n"] >= 1
    assert max_output_tokens(counted, kind="chat", model_max=None, default=9) == (
        max_output_tokens(body, kind="completions", model_max=None, default=9)
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_chat_answer_reads_as_a_text_completion(chat: Any) -> None:
    out = chat_to_completion(chat, completion_id="cmpl-1", upstream="up")
    assert out["object"] == "text_completion"
    assert isinstance(out["model"], str)
    assert out["model"]
    assert all(isinstance(c["text"], str) for c in out["choices"])
    assert set(out["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    prompt_problem(chat)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(["choices", "usage", "model"]), json_values)))
def test_any_chunk_sequence_translates_without_raising(chunks: list[dict[str, Any]]) -> None:
    translator = ChatChunksToCompletions(completion_id="c", upstream="up", include_usage=True)
    for chunk in chunks:
        for out in translator.feed(chunk):
            assert out["object"] == "text_completion"
            json.dumps(out)


def test_parameters_chat_takes_pass_and_stream_usage_is_kept() -> None:
    chat = completion_to_chat(
        {
            "model": "m",
            "prompt": ["say hi"],
            "temperature": 0.2,
            "stop": ["\n"],
            "n": 2,
            "best_of": 2,
            "seed": 7,
            "user": "u",
            "stream": True,
            "stream_options": {"include_usage": True},
            "echo": False,
            "logprobs": None,
            "suffix": None,
        }
    )
    assert chat == {
        "model": "m",
        "messages": [{"role": "user", "content": "say hi"}],
        "max_tokens": 16,
        "temperature": 0.2,
        "n": 2,
        "stop": ["\n"],
        "seed": 7,
        "user": "u",
        "stream": True,
        "stream_options": {"include_usage": True},
    }


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"suffix": "x"}, "suffix"),
        ({"echo": True}, "echo"),
        ({"logprobs": 0}, "logprobs"),
        ({"best_of": 2}, "best_of"),
        ({"prompt": [1, 2]}, "prompt"),
        ({"prompt": [[1]]}, "prompt"),
        ({"prompt": ["a", "b"]}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": None}, "prompt"),
        ({"max_tokens": 0}, "max_tokens"),
    ],
)
def test_what_chat_cannot_say_is_refused_by_name(extra: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        completion_to_chat({"model": "m", "prompt": "p", **extra})
    assert refused.value.param == param


def test_several_prompts_become_one_body_each_and_their_answers_one() -> None:
    body = {"model": "m", "prompt": ["a", "b"], "n": 1}
    assert [one["prompt"] for one in one_per_prompt(body)] == ["a", "b"]
    assert one_per_prompt({"model": "m", "prompt": [1, 2]}) == [{"model": "m", "prompt": [1, 2]}]
    answers = [
        chat_to_completion(
            {
                "model": "up-1",
                "created": 5,
                "choices": [{"index": 0, "message": {"content": text}, "finish_reason": finish}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 2},
            },
            completion_id="cmpl-x",
            upstream="up",
            first_index=number,
        )
        for number, (text, finish) in enumerate([("A", "stop"), ("B", "tool_calls")])
    ]
    merged = merged_completions(answers)
    assert merged["id"] == "cmpl-x"
    assert merged["model"] == "up-1"
    assert merged["created"] == 5
    assert [(c["index"], c["text"], c["finish_reason"]) for c in merged["choices"]] == [
        (0, "A", "stop"),
        (1, "B", "stop"),
    ]
    assert merged["usage"] == {"prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6}


async def _chunks(*events: bytes) -> AsyncIterator[bytes]:
    for event in events:
        yield event


def _translated(events: list[bytes], include_usage: bool) -> list[Any]:
    async def run() -> bytes:
        translator = ChatChunksToCompletions(
            completion_id="cmpl-1", upstream="up", include_usage=include_usage
        )
        return b"".join(
            [part async for part in chat_sse_to_completions(_chunks(*events), translator)]
        )

    out = asyncio.run(run()).decode()
    return [
        line[6:] if line[6:] == "[DONE]" else json.loads(line[6:])
        for line in out.split("\n")
        if line.startswith("data: ")
    ]


def _chat_chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 9,
        "model": "claude-x",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def test_a_chat_stream_cut_at_its_reservation_ends_at_its_length() -> None:
    cut = openai_sse_cut("chatcmpl-1", "claude-x", 1, True)(Usage(input_tokens=3, output_tokens=8))
    events = _translated(
        [_chat_chunk({"role": "assistant", "content": ""}), _chat_chunk({"content": "Hel"}), cut],
        include_usage=True,
    )
    assert events[-1] == "[DONE]"
    texts = [e["choices"][0] for e in events[:-1] if e["choices"]]
    assert [(c["text"], c["finish_reason"]) for c in texts] == [("Hel", None), ("", "length")]
    assert events[-2]["usage"] == {"prompt_tokens": 3, "completion_tokens": 8, "total_tokens": 11}
    assert all(e["object"] == "text_completion" and e["model"] == "claude-x" for e in events[:-1])


def test_an_error_event_passes_as_it_is_and_usage_only_when_asked() -> None:
    failure = {"error": {"message": "m", "type": "server_error", "param": None, "code": None}}
    error = b"data: " + json.dumps(failure).encode() + b"\n\n"
    events = _translated([_chat_chunk({"content": "x"}), error], include_usage=False)
    assert events[0]["choices"][0]["text"] == "x"
    assert "usage" not in events[0]
    assert events[1]["error"]["type"] == "server_error"


def test_a_native_stream_cut_ends_every_choice_at_its_length() -> None:
    ending = completions_sse_cut("cmpl-9", "gpt-3.5-turbo-instruct", 2, True)
    events = [
        line[6:]
        for line in ending(Usage(input_tokens=1, output_tokens=4)).decode().split("\n")
        if line.startswith("data: ")
    ]
    assert events[-1] == "[DONE]"
    finished, usage = json.loads(events[0]), json.loads(events[1])
    assert [c["finish_reason"] for c in finished["choices"]] == ["length", "length"]
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == 4
