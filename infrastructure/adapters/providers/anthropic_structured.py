"""OpenAI `response_format` → Anthropic, as a pure function: the answer is asked for as a call
of one more tool (the "answer tool") whose `input_schema` is the wanted schema, and the reply
translators turn that call back into the message's `content` (JSON text, finish_reason "stop").

- `json_schema`: the answer tool is named like `json_schema.name` and takes its `schema`
  (whose root must be an object, as a tool's input is).
- `json_object`: the answer tool `json_object` takes any object.
- Without tools (or with `tool_choice: "none"`) the answer tool is forced. With tools and
  `tool_choice` "auto" (or unset), Claude must call a tool: one of the caller's (the reply has
  `tool_calls`, as OpenAI's would) or the answer tool (the reply is the JSON answer). When
  `tool_choice` forces a tool ("required" or a named function) no answer tool is added: that turn
  is the forced call, as with OpenAI.
"""

from __future__ import annotations

import re
from typing import Any

from domains.providers.errors import InvalidRequest

JSON_OBJECT_TOOL = "json_object"
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_DESCRIPTION = "Answer by calling this tool: its input is your whole answer."


def answer_tool(response_format: Any) -> dict[str, Any] | None:
    """The Anthropic tool that carries the answer, or None for plain text."""
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {
            "name": JSON_OBJECT_TOOL,
            "description": _DESCRIPTION + " Answer with a JSON object.",
            "input_schema": {"type": "object"},
        }
    if kind != "json_schema":
        raise InvalidRequest(
            "`response_format.type` must be text, json_object or json_schema.",
            param="response_format.type",
        )
    assert isinstance(response_format, dict)
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict):
        raise InvalidRequest(
            "`response_format.json_schema` must be an object.", param="response_format.json_schema"
        )
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidRequest(
            "`response_format.json_schema.name` must be 1 to 64 letters, digits, _ or -.",
            param="response_format.json_schema.name",
        )
    schema = spec.get("schema", {"type": "object"})
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        raise InvalidRequest(
            "This model takes structured output whose schema root is an object "
            '(`"type": "object"`); wrap other values in an object.',
            param="response_format.json_schema.schema",
        )
    description = spec.get("description")
    return {
        "name": name,
        "description": description
        if isinstance(description, str) and description
        else _DESCRIPTION,
        "input_schema": {"type": "object", **schema},
    }


def ask_for_structured_answer(response_format: Any, out: dict[str, Any]) -> str | None:
    """Adds the answer tool (and the tool choice that makes Claude use it) to an Anthropic
    request whose tools are already translated; returns its name, None when none was added."""
    tool = answer_tool(response_format)
    if tool is None:
        return None
    choice = out.get("tool_choice") or {"type": "auto"}
    if choice["type"] in ("any", "tool"):
        return None  # a forced call of the caller's tools comes first
    tools = out.get("tools") or []
    if any(existing["name"] == tool["name"] for existing in tools):
        raise InvalidRequest(
            f"A tool is already named `{tool['name']}`; give `response_format.json_schema` "
            "another name.",
            param="response_format.json_schema.name",
        )
    callable_tools = tools if choice["type"] == "auto" else []
    out["tools"] = [*tools, tool]
    parallel = {k: v for k, v in choice.items() if k == "disable_parallel_tool_use"}
    if callable_tools:
        out["tool_choice"] = {"type": "any", **parallel}
    else:
        out["tool_choice"] = {"type": "tool", "name": tool["name"]}
    return str(tool["name"])
