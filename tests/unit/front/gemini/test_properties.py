"""Properties of the Gemini front door's translation: a conversation survives the round trip
through OpenAI, any body (strict or lenient) translates or is refused as invalid, any schema
translates or is refused, any chunk sequence gives documented Gemini responses, any completion
translates, and any embeddings body translates or is refused."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.gemini_wire import chat_request, gemini_schema
from interfaces.http.gemini import schemas
from interfaces.http.gemini.embeddings import batch_request, embed_request
from interfaces.http.gemini.translate_request import gemini_to_chat
from interfaces.http.gemini.translate_response import chat_to_gemini
from interfaces.http.gemini.translate_schema import json_schema
from interfaces.http.gemini.translate_stream import ChatChunksToGemini
from tests.unit.front.gemini.strategies import (
    chunks,
    conversations,
    json_values,
    near_bodies,
    near_schemas,
    words,
)

SLOW = [HealthCheck.too_slow]


def meaning(turns: list[dict[str, Any]]) -> list[tuple[str, str, list[Any], list[Any]]]:
    """(role, text, calls, responses) per turn, consecutive turns of one role merged."""
    merged: list[tuple[str, str, list[Any], list[Any]]] = []
    for turn in turns:
        parts = turn["parts"]
        text = "".join(p.get("text", "") for p in parts)
        calls = [
            (p["functionCall"]["name"], p["functionCall"]["args"])
            for p in parts
            if "functionCall" in p
        ]
        answers = [
            (p["functionResponse"]["name"], p["functionResponse"]["response"])
            for p in parts
            if "functionResponse" in p
        ]
        if merged and merged[-1][0] == turn["role"]:
            role, before, earlier, answered = merged.pop()
            merged.append((role, before + text, earlier + calls, answered + answers))
        else:
            merged.append((turn["role"], text, calls, answers))
    return merged


@settings(max_examples=300, suppress_health_check=SLOW)
@given(conversations())
def test_a_conversation_survives_the_round_trip_through_openai(body: dict[str, Any]) -> None:
    chat = gemini_to_chat(body, model="m")
    back = chat_request(chat, fetched_images={})
    assert meaning(back["contents"]) == meaning(body["contents"])
    system = [p["text"] for p in body.get("systemInstruction", {}).get("parts", [])]
    assert back.get("systemInstruction", {"parts": [{"text": ""}]})["parts"][0][
        "text"
    ] == "\n".join(system)


@settings(max_examples=500, suppress_health_check=SLOW)
@given(st.one_of(json_values, near_bodies), st.booleans(), st.booleans())
def test_any_body_translates_or_raises_invalid_request_only(
    body: Any, lenient: bool, stream: bool
) -> None:
    with contextlib.suppress(InvalidRequest):  # any other exception fails
        out = gemini_to_chat(body, model="m", stream=stream, lenient=lenient)
        assert out["model"] == "m"
        assert out["messages"]
        assert out.get("stream", False) is stream
        json.dumps(out)


@settings(max_examples=300, suppress_health_check=SLOW)
@given(st.one_of(json_values, near_schemas))
def test_any_schema_translates_or_raises_invalid_request_only(schema: Any) -> None:
    with contextlib.suppress(InvalidRequest):
        translated = json_schema(schema, "p")
        json.dumps(translated)
        # what came from a Gemini schema goes back to one (the upstream translator)
        gemini_schema(translated, "p")


@settings(max_examples=300, suppress_health_check=SLOW)
@given(st.lists(chunks, max_size=10), st.booleans())
def test_any_chunk_sequence_gives_documented_gemini_responses(
    chunk_list: list[Any], thoughts: bool
) -> None:
    translator = ChatChunksToGemini(model="m", response_id="r", thoughts=thoughts)
    out = [response for c in chunk_list for response in translator.feed(c)]
    out += translator.finish()
    assert translator.done
    assert translator.finish() == []
    for response in out:
        if "error" in response:
            msgspec.convert(response, schemas.GoogleError)
            assert response is out[-1]
        else:
            msgspec.convert(response, schemas.GenerateContentResponse)
            assert response["modelVersion"]


@settings(max_examples=300, suppress_health_check=SLOW)
@given(
    json_values
    | st.fixed_dictionaries({"choices": st.lists(json_values, max_size=3), "usage": json_values})
)
def test_any_completion_translates_to_a_documented_response(completion: Any) -> None:
    response = chat_to_gemini(completion, model="m", response_id="r", thoughts=True)
    parsed = msgspec.convert(response, schemas.GenerateContentResponse)
    assert parsed.candidates
    assert parsed.model_version == "m"


@settings(max_examples=300, suppress_health_check=SLOW)
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "content": json_values
                | st.fixed_dictionaries(
                    {
                        "parts": st.lists(
                            st.fixed_dictionaries({"text": words | json_values}), max_size=2
                        )
                    }
                )
            },
            optional={
                "model": st.sampled_from(["models/m", "m", "models/x"]),
                "outputDimensionality": json_values,
            },
        ),
    )
)
def test_any_embed_body_translates_or_raises_invalid_request_only(body: Any) -> None:
    for translate in (
        embed_request,
        lambda b, model: batch_request({"requests": [b, b]}, model=model),
    ):
        with contextlib.suppress(InvalidRequest):
            out = translate(body, model="m")
            assert out["model"] == "m"
            assert all(isinstance(text, str) and text for text in out["input"])
