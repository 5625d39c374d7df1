"""What the tests of the fake Gemini upstream share: the contents, tools and image they send, what
the fake must answer, and ways to call it with the SDK or raw."""

from __future__ import annotations

import array
import hashlib
from typing import Any

import httpx
from google import genai
from google.genai import types

from tests.fakes.gemini_upstream import FakeGemini

API_KEY = "gm-test"
MODEL = "gemini-2.5-flash"
QUESTION = "What is the capital of France today?"
CONTENTS = [
    types.Content(role="user", parts=[types.Part.from_text(text="first question")]),
    types.Content(role="model", parts=[types.Part.from_text(text="first answer")]),
    types.Content(role="user", parts=[types.Part.from_text(text=QUESTION)]),
]
SYSTEM = "You are terse."
EXPECTED_TEXT = "Echo: " + QUESTION
EXPECTED_PROMPT_TOKENS = 3 + 2 + 2 + 7  # system + three turns
SEARCH = types.FunctionDeclaration(
    name="search",
    description="Search the web.",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={"query": types.Schema(type=types.Type.STRING)},
        required=["query"],
    ),
)
LOOKUP = types.FunctionDeclaration(
    name="lookup",
    parameters=types.Schema(
        type=types.Type.OBJECT, properties={"query": types.Schema(type=types.Type.STRING)}
    ),
)
NO_AFC = types.AutomaticFunctionCallingConfig(disable=True)
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452")


def sdk_client(base_url: str, api_key: str = API_KEY, api_version: str | None = "v1beta") -> Any:
    return genai.Client(
        api_key=api_key,
        http_options=types.HttpOptions(
            base_url=base_url,
            api_version=api_version,
            retry_options=types.HttpRetryOptions(attempts=1),
        ),
    )


def generate_config(**kwargs: Any) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(automatic_function_calling=NO_AFC, **kwargs)


def raw_call(fake: FakeGemini, method: str, body: object, **params: str) -> httpx.Response:
    return httpx.post(
        f"{fake.base_url}/v1beta/models/{MODEL}:{method}",
        headers={"x-goog-api-key": API_KEY},
        params=params,
        json=body,
    )


def user_turn(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def answered(result: dict[str, Any]) -> list[types.Content]:
    return [
        types.Content(role="user", parts=[types.Part.from_text(text="Weather in Paris?")]),
        types.Content(
            role="model",
            parts=[types.Part.from_function_call(name="search", args={"query": "Paris"})],
        ),
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="search", response=result)],
        ),
    ]


# -- embeddings and models ------------------------------------------------------------------------


def expected_vector(text: str, dims: int) -> list[float]:
    raw = hashlib.shake_256(text.encode()).digest(4 * dims)
    scale = 2.0 / 4294967295.0
    return array.array("f", [u * scale - 1.0 for u in memoryview(raw).cast("I")]).tolist()
