"""Thinking, as the official `google-genai` SDK parses it from the fake: a thinking budget or
level, the thoughts' summary as a part marked `thought` (whole and streamed), their tokens as
`thoughtsTokenCount`, and the configurations Gemini refuses."""

from __future__ import annotations

import pytest
from google import genai
from google.genai import errors, types

from tests.fakes.wire.gemini.support import CONTENTS, MODEL, QUESTION

THOUGHT = f"Thinking about: {QUESTION}"


def _generate(
    client: genai.Client, model: str = MODEL, **thinking: object
) -> types.GenerateContentResponse:
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(**thinking))
    return client.models.generate_content(model=model, contents=CONTENTS, config=config)


def test_thoughts_summary_comes_first_marked_thought(client: genai.Client) -> None:
    response = _generate(client, thinking_budget=1024, include_thoughts=True)
    parts = response.candidates[0].content.parts
    assert [(part.thought, part.text) for part in parts] == [
        (True, THOUGHT),
        (None, f"Echo: {QUESTION}"),
    ]
    assert response.text == f"Echo: {QUESTION}"  # the SDK's text leaves thoughts out
    usage = response.usage_metadata
    assert usage.thoughts_token_count == len(THOUGHT.split())
    assert usage.total_token_count == (
        usage.prompt_token_count + usage.candidates_token_count + usage.thoughts_token_count
    )


def test_thinking_without_summary_only_counts(client: genai.Client) -> None:
    response = _generate(client, thinking_budget=1024)
    assert all(not part.thought for part in response.candidates[0].content.parts)
    assert response.usage_metadata.thoughts_token_count == len(THOUGHT.split())
    off = _generate(client, thinking_budget=0)
    assert off.usage_metadata.thoughts_token_count is None


def test_stream_sends_the_summary_in_a_chunk_of_its_own(client: genai.Client) -> None:
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(thinking_level="high", include_thoughts=True)
    )
    chunks = list(
        client.models.generate_content_stream(
            model="gemini-3-pro-preview", contents=CONTENTS, config=config
        )
    )
    first = chunks[0].candidates[0].content.parts
    assert [(part.thought, part.text) for part in first] == [(True, THOUGHT)]
    rest = [part for chunk in chunks[1:] for part in chunk.candidates[0].content.parts]
    assert "".join(part.text for part in rest) == f"Echo: {QUESTION}"
    assert not any(part.thought for part in rest)
    assert chunks[-1].usage_metadata.thoughts_token_count == len(THOUGHT.split())


@pytest.mark.parametrize(
    ("model", "thinking", "message"),
    [
        (MODEL, {"thinking_level": "high"}, "Thinking level is not supported"),
        ("gemini-3-pro-preview", {"thinking_level": "high", "thinking_budget": 10}, "only one of"),
        ("gemini-2.5-pro", {"thinking_budget": 0}, "only works in thinking mode"),
        (MODEL, {"thinking_budget": 40_000}, "thinking_budget must be in"),
    ],
)
def test_refused_thinking_configs(
    client: genai.Client, model: str, thinking: dict[str, object], message: str
) -> None:
    with pytest.raises(errors.ClientError) as caught:
        _generate(client, model, **thinking)
    assert caught.value.code == 400
    assert message in str(caught.value)
