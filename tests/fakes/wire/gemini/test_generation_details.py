"""Images, max output tokens, stop sequences, safety blocks, cached tokens and token counts."""

from __future__ import annotations

from google import genai
from google.genai import types

from tests.fakes.gemini_upstream.models import EVERY_TOKEN_CACHED, EVERY_TOKEN_THOUGHTS
from tests.fakes.wire.gemini.support import (
    CONTENTS,
    EXPECTED_PROMPT_TOKENS,
    MODEL,
    PNG,
    QUESTION,
    generate_config,
)

# -- parts and generation config ------------------------------------------------------------------


def test_inline_image_counts_as_image(client: genai.Client) -> None:
    contents = [
        types.Content(
            role="user",
            parts=[
                types.Part.from_text(text="describe"),
                types.Part.from_bytes(data=PNG, mime_type="image/png"),
            ],
        )
    ]
    response = client.models.generate_content(model=MODEL, contents=contents)
    assert response.text == "Echo: describe [image]"
    usage = response.usage_metadata
    assert usage is not None
    assert usage.prompt_token_count == 2
    assert usage.prompt_tokens_details is not None
    modalities = {d.modality: d.token_count for d in usage.prompt_tokens_details}
    assert modalities == {types.MediaModality.TEXT: 1, types.MediaModality.IMAGE: 1}


def test_max_output_tokens_truncates(client: genai.Client) -> None:
    response = client.models.generate_content(
        model=MODEL, contents=QUESTION, config=generate_config(max_output_tokens=3)
    )
    assert response.text == "Echo: What is"
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert response.usage_metadata is not None
    assert response.usage_metadata.candidates_token_count == 3

    streamed = list(
        client.models.generate_content_stream(
            model=MODEL, contents=QUESTION, config=generate_config(max_output_tokens=3)
        )
    )
    assert "".join(c.text or "" for c in streamed) == "Echo: What is"
    assert streamed[-1].candidates is not None
    assert streamed[-1].candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


def test_stop_sequence_cuts_the_reply(client: genai.Client) -> None:
    response = client.models.generate_content(
        model=MODEL, contents=QUESTION, config=generate_config(stop_sequences=["capital", "France"])
    )
    assert response.text == "Echo: What is the "
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.STOP


def test_safety_block(client: genai.Client) -> None:
    response = client.models.generate_content(model="fake-safety", contents=QUESTION)
    assert response.text is None
    assert response.candidates is not None
    candidate = response.candidates[0]
    assert candidate.finish_reason == types.FinishReason.SAFETY
    assert candidate.content is None
    assert candidate.safety_ratings
    assert any(r.blocked for r in candidate.safety_ratings)
    assert response.usage_metadata is not None
    assert response.usage_metadata.candidates_token_count is None

    (chunk,) = list(client.models.generate_content_stream(model="fake-safety", contents="hi"))
    assert chunk.candidates is not None
    assert chunk.candidates[0].finish_reason == types.FinishReason.SAFETY


def test_cached_model_reports_cached_tokens(client: genai.Client) -> None:
    response = client.models.generate_content(model="fake-cached", contents=QUESTION)
    usage = response.usage_metadata
    assert usage is not None
    assert usage.cached_content_token_count == 5
    assert usage.prompt_token_count == 7  # the cached tokens are part of the prompt
    assert usage.total_token_count == 7 + 8


def test_every_token_model_reports_cached_content_and_thoughts_whole_and_streamed(
    client: genai.Client,
) -> None:
    whole = client.models.generate_content(model="fake-every-token", contents=QUESTION)
    assert whole.text == "Echo: " + QUESTION
    chunks = list(
        client.models.generate_content_stream(model="fake-every-token", contents=QUESTION)
    )
    assert "".join(chunk.text or "" for chunk in chunks) == whole.text
    answer = len(whole.text.split())
    for usage in (whole.usage_metadata, chunks[-1].usage_metadata):
        assert usage is not None
        # the cached content is part of the prompt; thoughts are apart from the candidates
        assert usage.prompt_token_count == 7 + EVERY_TOKEN_CACHED
        assert usage.cached_content_token_count == EVERY_TOKEN_CACHED
        assert usage.candidates_token_count == answer
        assert usage.thoughts_token_count == EVERY_TOKEN_THOUGHTS
        assert usage.total_token_count == 7 + EVERY_TOKEN_CACHED + answer + EVERY_TOKEN_THOUGHTS
    assert all(
        chunk.usage_metadata is not None
        and chunk.usage_metadata.thoughts_token_count == EVERY_TOKEN_THOUGHTS
        for chunk in chunks
    )


def test_count_tokens(client: genai.Client) -> None:
    counted = client.models.count_tokens(model=MODEL, contents=CONTENTS)
    assert counted.total_tokens == EXPECTED_PROMPT_TOKENS - 3
