"""Hypothesis strategies for the Gemini front door's properties: Gemini bodies near the valid
ones, well-formed conversations and their meaning, Gemini schemas, and OpenAI chunk sequences."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a plausible value, once in a while any JSON value at all."""
    return st.integers(0, 9).flatmap(lambda roll: json_values if roll == 0 else good)


names = st.sampled_from(["f", "g", "search"])
words = st.text(string.ascii_letters + string.digits + " .,!?é\n", min_size=1, max_size=12)
args = st.dictionaries(st.sampled_from(["a", "b", "query"]), words | st.integers(), max_size=3)

near_schemas = st.recursive(
    st.fixed_dictionaries(
        {},
        optional={
            "type": mostly(
                st.sampled_from(["STRING", "integer", "NUMBER", "BOOLEAN", "NULL", "X"])
            ),
            "nullable": json_values,
            "enum": mostly(st.lists(words, max_size=3)),
            "format": json_values,
            "description": mostly(words),
            "minItems": mostly(st.integers(0, 5) | st.just("3")),
            "maximum": json_values,
            "propertyOrdering": json_values,
        },
    ),
    lambda inner: st.fixed_dictionaries(
        {"type": mostly(st.sampled_from(["OBJECT", "ARRAY", "object"]))},
        optional={
            "properties": mostly(st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2)),
            "required": mostly(st.lists(st.sampled_from(["a", "b"]), max_size=2)),
            "items": inner,
            "anyOf": mostly(st.lists(inner, max_size=2)),
        },
    ),
    max_leaves=8,
)

near_parts = st.fixed_dictionaries(
    {},
    optional={
        "text": mostly(words),
        "thought": json_values,
        "inlineData": mostly(
            st.fixed_dictionaries(
                {
                    "mimeType": mostly(
                        st.sampled_from(["image/png", "audio/wav", "application/pdf", "text/csv"])
                    ),
                    "data": mostly(st.just("iVBORw0KGgo=")),
                }
            )
        ),
        "file_data": mostly(
            st.fixed_dictionaries(
                {"fileUri": mostly(st.sampled_from(["https://x.example/a.png", "gs://b/c.pdf"]))},
                optional={"mimeType": mostly(st.sampled_from(["image/png", "application/pdf"]))},
            )
        ),
        "functionCall": mostly(
            st.fixed_dictionaries(
                {"name": mostly(names)}, optional={"args": mostly(args), "id": json_values}
            )
        ),
        "functionResponse": mostly(
            st.fixed_dictionaries(
                {"name": mostly(names)},
                optional={"response": mostly(args), "id": json_values, "parts": json_values},
            )
        ),
        "executableCode": json_values,
    },
)
near_contents = st.lists(
    mostly(
        st.fixed_dictionaries(
            {"parts": mostly(st.lists(near_parts, max_size=4))},
            optional={"role": mostly(st.sampled_from(["user", "model", "function", "system"]))},
        )
    ),
    max_size=4,
)
near_config = st.fixed_dictionaries(
    {},
    optional={
        "temperature": mostly(st.floats(-1, 3)),
        "topP": json_values,
        "topK": mostly(st.integers(-1, 50) | st.floats(0, 50)),
        "maxOutputTokens": mostly(st.integers(-1, 2**32)),
        "candidateCount": mostly(st.integers(0, 9)),
        "stopSequences": mostly(st.lists(words, max_size=6)),
        "presence_penalty": json_values,
        "seed": json_values,
        "responseMimeType": mostly(
            st.sampled_from(["application/json", "text/plain", "text/x.enum", "image/png"])
        ),
        "responseSchema": mostly(near_schemas),
        "responseJsonSchema": json_values,
        "responseModalities": mostly(st.lists(st.sampled_from(["TEXT", "IMAGE"]), max_size=2)),
        "thinkingConfig": mostly(
            st.fixed_dictionaries(
                {},
                optional={
                    "includeThoughts": json_values,
                    "thinkingBudget": mostly(st.integers(-2, 20_000)),
                    "thinkingLevel": mostly(st.sampled_from(["LOW", "high", "HUGE"])),
                },
            )
        ),
    },
)
near_tools = st.lists(
    mostly(
        st.fixed_dictionaries(
            {},
            optional={
                "functionDeclarations": mostly(
                    st.lists(
                        st.fixed_dictionaries(
                            {"name": mostly(names)},
                            optional={
                                "description": json_values,
                                "parameters": mostly(near_schemas),
                                "parametersJsonSchema": json_values,
                            },
                        ),
                        max_size=2,
                    )
                ),
                "googleSearch": json_values,
            },
        )
    ),
    max_size=2,
)
near_bodies = st.fixed_dictionaries(
    {"contents": mostly(near_contents)},
    optional={
        "systemInstruction": mostly(
            st.fixed_dictionaries({"parts": st.lists(near_parts, max_size=2)})
        ),
        "generationConfig": mostly(near_config),
        "tools": mostly(near_tools),
        "toolConfig": mostly(
            st.fixed_dictionaries(
                {
                    "functionCallingConfig": mostly(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "mode": mostly(
                                    st.sampled_from(["AUTO", "ANY", "NONE", "none", "X"])
                                ),
                                "allowedFunctionNames": mostly(st.lists(names, max_size=2)),
                            },
                        )
                    )
                }
            )
        ),
        "cachedContent": json_values,
        "safetySettings": json_values,
    },
)


@st.composite
def conversations(draw: st.DrawFn) -> dict[str, Any]:
    """Well-formed Gemini conversations: user and model turns in turn, a model turn's calls
    answered (in order, by name) at the start of the next user turn."""
    turns: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for n in range(draw(st.integers(1, 5))):
        if n % 2 == 0:
            parts: list[dict[str, Any]] = [
                {"functionResponse": {"name": call["name"], "response": draw(args)}}
                for call in calls
            ]
            parts += [
                {"text": text}
                for text in draw(st.lists(words, min_size=0 if calls else 1, max_size=2))
            ]
            turns.append({"role": "user", "parts": parts})
            calls = []
        else:
            texts = draw(st.lists(words, max_size=2))
            calls = draw(
                st.lists(
                    st.builds(lambda name, a: {"name": name, "args": a}, names, args),
                    min_size=0 if texts else 1,
                    max_size=2,
                )
            )
            turns.append(
                {
                    "role": "model",
                    "parts": [{"text": t} for t in texts] + [{"functionCall": c} for c in calls],
                }
            )
    body: dict[str, Any] = {"contents": turns}
    if draw(st.booleans()):
        body["systemInstruction"] = {
            "parts": [{"text": t} for t in draw(st.lists(words, min_size=1, max_size=2))]
        }
    return body


# --- OpenAI chunks ------------------------------------------------------------------------------

deltas = st.fixed_dictionaries(
    {},
    optional={
        "role": st.just("assistant"),
        "content": mostly(words),
        "reasoning_content": mostly(words),
        "tool_calls": mostly(
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "index": mostly(st.integers(0, 2)),
                        "id": mostly(st.sampled_from(["call_1", "call_2"])),
                        "function": mostly(
                            st.fixed_dictionaries(
                                {},
                                optional={
                                    "name": mostly(names),
                                    "arguments": mostly(
                                        st.sampled_from(['{"a"', ": 1}", "", "[", "{}"])
                                    ),
                                },
                            )
                        ),
                    },
                ),
                max_size=2,
            )
        ),
    },
)
chunks = mostly(
    st.fixed_dictionaries(
        {},
        optional={
            "model": mostly(st.sampled_from(["gpt-x", ""])),
            "choices": mostly(
                st.lists(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "index": mostly(st.integers(0, 2)),
                            "delta": mostly(deltas),
                            "finish_reason": mostly(
                                st.sampled_from([None, "stop", "length", "tool_calls", "odd"])
                            ),
                        },
                    ),
                    max_size=2,
                )
            ),
            "usage": mostly(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "prompt_tokens": mostly(st.integers(0, 50)),
                        "completion_tokens": mostly(st.integers(0, 50)),
                        "completion_tokens_details": json_values,
                    },
                )
            ),
            "error": st.none() | json_values,
        },
    )
)
