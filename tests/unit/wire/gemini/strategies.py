"""Hypothesis strategies for the Gemini wire properties: OpenAI chat bodies, and Gemini answers
and stream events, well formed or not."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.unit.wire.gemini.support import PNG

# --- properties ------------------------------------------------------------------------------

json_scalar = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
)
json_value = st.recursive(
    json_scalar,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def maybe(keys: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys), values, max_size=len(keys))


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a plausible value, once in a while any JSON value at all."""
    return st.integers(0, 19).flatmap(lambda roll: json_value if roll == 0 else good)


ids = st.sampled_from(["call_1", "call_2", "call_3"])
part_like = mostly(
    st.one_of(
        st.fixed_dictionaries({"type": st.just("text"), "text": mostly(st.text(max_size=6))}),
        st.fixed_dictionaries(
            {
                "type": st.just("image_url"),
                "image_url": mostly(
                    st.fixed_dictionaries(
                        {"url": st.sampled_from([PNG, "https://i.example/a.png", "data:x"])}
                    )
                ),
            }
        ),
        maybe(["type", "text", "image_url", "input_audio"], json_value),
    )
)
call_like = mostly(
    st.fixed_dictionaries(
        {"id": mostly(ids), "type": mostly(st.just("function"))},
        optional={
            "function": mostly(
                st.fixed_dictionaries(
                    {"name": mostly(st.sampled_from(["f", "g"]))},
                    optional={
                        "arguments": mostly(st.sampled_from(["{}", '{"a": [1]}', "", "[", "7"]))
                    },
                )
            )
        },
    )
)
message_like = mostly(
    st.fixed_dictionaries(
        {
            "role": mostly(
                st.sampled_from(["system", "developer", "user", "assistant", "tool", "function"])
            )
        },
        optional={
            "content": st.none() | mostly(st.text(max_size=6)) | st.lists(part_like, max_size=3),
            "tool_calls": mostly(st.lists(call_like, max_size=3)),
            "tool_call_id": mostly(ids),
            "name": mostly(st.sampled_from(["f", "g"])),
            "function_call": json_value,
        },
    )
)
schema_like = st.recursive(
    maybe(
        ["type", "description", "enum", "format", "nullable", "const"],
        json_value | st.sampled_from(["object", "string", "array", "integer", "null", "enum"]),
    ),
    lambda inner: maybe(
        ["type", "properties", "items", "required", "anyOf", "oneOf", "allOf", "$ref", "$defs"],
        inner
        | st.dictionaries(st.sampled_from(["a", "b", "A"]), inner, max_size=3)
        | st.lists(inner, max_size=3)
        | st.sampled_from(["#/$defs/A", "object", "array"])
        | json_value,
    ),
    max_leaves=12,
)
tool_like = mostly(
    st.fixed_dictionaries(
        {
            "type": mostly(st.just("function")),
            "function": mostly(
                st.fixed_dictionaries(
                    {"name": mostly(st.sampled_from(["f", "g"]))},
                    optional={"description": json_value, "parameters": mostly(schema_like)},
                )
            ),
        }
    )
)
choice_like = mostly(
    st.sampled_from(["auto", "none", "required"])
    | st.fixed_dictionaries({"type": st.just("function"), "function": maybe(["name"], ids)})
)
format_like = mostly(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "json_object", "json_schema"])},
        optional={"json_schema": mostly(maybe(["name", "schema", "strict"], schema_like))},
    )
)
whole = mostly(st.integers(1, 300))
fraction = mostly(st.floats(0, 2))
params_like = st.fixed_dictionaries(
    {},
    optional={
        "temperature": fraction,
        "top_p": fraction,
        "max_tokens": whole,
        "max_completion_tokens": whole,
        "n": whole,
        "seed": whole,
        "presence_penalty": fraction,
        "stop": mostly(st.text(max_size=3) | st.lists(st.text(max_size=3), max_size=7)),
        "response_format": format_like,
        "tools": mostly(st.lists(tool_like, max_size=3)),
        "tool_choice": choice_like,
        "user": json_value,
        "reasoning_effort": mostly(
            st.sampled_from(["none", "minimal", "low", "medium", "high", "xhigh", "max"])
        ),
    },
)
body_like = st.one_of(
    st.dictionaries(st.text(max_size=8), json_value, max_size=5),
    st.builds(
        lambda messages, params: {"messages": messages, **params},
        mostly(st.lists(message_like, min_size=1, max_size=5)),
        params_like,
    ),
)


# Valid conversations: for (b) below, and as a base for (a).

text = st.text(min_size=1, max_size=12)
args_value = st.dictionaries(
    st.text(max_size=5), json_scalar | st.lists(json_scalar, max_size=3), max_size=3
)
