"""OpenAI Responses request → OpenAI chat request, as a pure function (the front door of
`POST /v1/responses` for providers that do not speak Responses: Anthropic, Gemini,
OpenAI-compatible servers), and the request's input as stored items.

Only `InvalidRequest` (a 400 naming the parameter) leaves it. The mapping:

- `instructions` → a first `system` message; `input` (a string, or items: see
  `translate_items`) after the stored conversation's items (`history`), oldest first.
- `tools`: function tools → chat function tools. A built-in tool (web search, file search,
  code interpreter, computer use, image generation, MCP, custom...) cannot run anywhere but at
  OpenAI: refused, naming it, with `param: "tools"`.
- `tool_choice` (`auto`, `none`, `required`, a function, `allowed_tools`: the tools narrowed to
  the allowed ones), `parallel_tool_calls`, `temperature`, `top_p`, `user`,
  `safety_identifier` → the chat fields of the same meaning; `max_output_tokens` →
  `max_tokens` (the field every chat server reads; the adapters of other vendors translate it).
- `text.format` → `response_format` (`json_schema` with its name, schema, strict and
  description; `json_object`); `text.verbosity` → `verbosity`; `reasoning.effort` →
  `reasoning_effort`.
- `stream` → `stream` with usage (a Responses stream always ends with its usage).
- What only the gateway or OpenAI acts on is not sent: `store`, `metadata`,
  `previous_response_id` (the gateway rebuilds the conversation), `include`, `truncation`,
  `service_tier`, `prompt_cache_key`, `reasoning.summary`, `max_tool_calls`, `top_logprobs`.
  `background`, `conversation` and `prompt` (stored prompts) are refused: nothing but OpenAI
  has them.

With `native=True` the body goes to OpenAI as it is and the translation only estimates its
prompt: what OpenAI alone can run (built-in tools and their items, files and images by id) is
left out instead of refused.

Over 300 lines on purpose: the mapping above, one small function per field group, read in the
list's order; the input items' own translation is in `translate_items`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

from domains.providers.errors import InvalidRequest
from interfaces.http.responses.reasoning_items import ENCRYPTED_PREFIX
from interfaces.http.responses.translate_items import (
    MESSAGE_ROLES,
    ChatConversation,
    check,
    kind_of,
    string,
)

_CHOICES = ("auto", "none", "required")
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
_REFUSED = {
    "background": "Background responses are not supported by this gateway.",
    "conversation": "Conversations are not supported by this gateway: continue a response with "
    "`previous_response_id`.",
    "prompt": "Stored prompts are not supported by this model: send the prompt as `input`.",
}
_ITEM_PREFIX = {
    "response": "resp",
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "reasoning": "rs",
}


def responses_to_chat(
    body: dict[str, Any], history: Sequence[dict[str, Any]] = (), *, native: bool = False
) -> dict[str, Any]:
    """The chat request that asks what the Responses `body` asks, continuing `history` (the
    stored conversation's input and output items, oldest first, in Responses item shape)."""
    check(isinstance(body, dict), "", "The request body must be a JSON object")
    model = body.get("model")
    check(isinstance(model, str) and model != "", "model", "must be a non-empty string")
    if not native:
        for key, message in _REFUSED.items():
            if body.get(key) not in (None, False):
                raise InvalidRequest(message, param=key)
    messages = _conversation(body, history, native)
    out: dict[str, Any] = {"model": model, "messages": messages}
    _tools(body, out, native)
    _sampling(body, out)
    _text(body, out)
    _reasoning(body, out)
    stream = body.get("stream")
    check(stream is None or isinstance(stream, bool), "stream", "must be a boolean")
    if stream:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}  # a Responses stream ends with usage
    return out


def input_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's `input` as Responses items, each with an `id` (its own when it has one):
    what `GET /v1/responses/{id}/input_items` lists and what a later `previous_response_id`
    continues. A string is one user message; a message's string content becomes one
    `input_text` part (`output_text` for an assistant's)."""
    check(isinstance(body, dict), "", "The request body must be a JSON object")
    raw = body.get("input")
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    check(isinstance(raw, list), "input", "must be a string or an array of items")
    return [_stored_item(item, f"input[{i}]") for i, item in enumerate(raw)]


def new_item_id(kind: str) -> str:
    """A fresh id for an item of `kind` (or for a `response`), in OpenAI's style (`msg_…`,
    `fc_…`, `resp_…`)."""
    return f"{_ITEM_PREFIX.get(kind, 'item')}_{os.urandom(24).hex()}"


def with_history(body: dict[str, Any], history: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The body to pass natively for a conversation the gateway stored: its `input` is the
    stored items (oldest first) then the request's, without `previous_response_id`, so the
    upstream needs no store of its own. Stored items lose their ids and statuses (the upstream
    does not know them); reasoning items without their encrypted content, which the upstream
    could not read back, are left out; an `item_reference` to a stored item becomes that item.
    (Passed to OpenAI, the body then loses the reasoning of other providers:
    `without_gateway_reasoning`.)"""
    check(isinstance(body, dict), "", "The request body must be a JSON object")
    stored = {item["id"]: item for item in history if isinstance(item, dict) and _has_id(item)}
    raw = body.get("input")
    items = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw
    check(
        items is None or isinstance(items, list), "input", "must be a string or an array of items"
    )
    out = [_portable(item) for item in history]
    for item in items or ():
        if isinstance(item, dict) and item.get("type") == "item_reference":
            ref = item.get("id")
            found = stored.get(ref) if isinstance(ref, str) else None
            out.append(_portable(found) if found is not None else item)
        else:
            out.append(item)
    sent = {key: value for key, value in body.items() if key != "previous_response_id"}
    sent["input"] = [item for item in out if item is not None]
    return sent


def without_gateway_reasoning(body: dict[str, Any]) -> dict[str, Any]:
    """The body to pass natively to OpenAI without the reasoning items whose encrypted content
    the gateway made (another provider's thinking, see `reasoning_items`), which OpenAI cannot
    read; the body itself when it has none."""
    raw = body.get("input") if isinstance(body, dict) else None
    if not isinstance(raw, list) or not any(_gateway_reasoning(item) for item in raw):
        return body
    return {**body, "input": [item for item in raw if not _gateway_reasoning(item)]}


def _gateway_reasoning(item: Any) -> bool:
    if not isinstance(item, dict) or item.get("type") != "reasoning":
        return False
    content = item.get("encrypted_content")
    return isinstance(content, str) and content.startswith(ENCRYPTED_PREFIX)


def _portable(item: Any) -> dict[str, Any] | None:
    """A stored item as input for an upstream that never saw it; None to leave it out."""
    if not isinstance(item, dict):
        return None
    kind = item.get("type", "message")
    if kind == "reasoning":
        return item if item.get("encrypted_content") else None
    if kind == "item_reference":
        return None
    return {key: value for key, value in item.items() if key not in ("id", "status")}


def _stored_item(item: Any, param: str) -> dict[str, Any]:
    kind = kind_of(item, param) or "message"
    out = {key: value for key, value in item.items() if key not in ("id", "type")}
    if kind == "message":
        role = item.get("role")
        check(role in MESSAGE_ROLES, f"{param}.role", f"must be one of {', '.join(MESSAGE_ROLES)}")
        content = item.get("content")
        if isinstance(content, str):
            part: dict[str, Any] = {"type": "input_text", "text": content}
            if role == "assistant":
                part = {"type": "output_text", "text": content, "annotations": []}
            out["content"] = [part]
    if kind in _ITEM_PREFIX and kind != "reasoning":
        out.setdefault("status", "completed")
    own = item.get("id")
    if kind == "item_reference":
        own = string(own, f"{param}.id", empty=False)
    if isinstance(own, str) and own:
        return {"id": own, "type": kind, **out}
    return {"id": new_item_id(kind), "type": kind, **out}


# --- the conversation --------------------------------------------------------------------------


def _conversation(
    body: dict[str, Any], history: Sequence[dict[str, Any]], native: bool
) -> list[dict[str, Any]]:
    instructions = body.get("instructions")
    check(instructions is None or isinstance(instructions, str), "instructions", "must be a string")
    conversation = ChatConversation(native=native)
    if instructions:
        conversation.add({"role": "system", "content": instructions})
    stored = {item["id"]: item for item in history if isinstance(item, dict) and _has_id(item)}
    conversation.read(list(history), where="previous_response_id", stored=stored)
    raw = body.get("input")
    if isinstance(raw, str):
        conversation.add({"role": "user", "content": raw})
    elif raw is not None:
        check(isinstance(raw, list), "input", "must be a string or an array of items")
        conversation.read(raw, where="input", stored=stored)
    messages = conversation.messages()
    if not any(message["role"] != "system" for message in messages):
        raise InvalidRequest("`input` holds nothing to answer.", param="input")
    return messages


def _has_id(item: dict[str, Any]) -> bool:
    return isinstance(item.get("id"), str) and item.get("type") != "item_reference"


# --- tools -------------------------------------------------------------------------------------


def _tools(body: dict[str, Any], out: dict[str, Any], native: bool) -> None:
    tools = body.get("tools")
    check(tools is None or isinstance(tools, list), "tools", "must be an array")
    functions = []
    for i, tool in enumerate(tools or ()):
        kind = kind_of(tool, f"tools[{i}]")
        if kind == "function":
            functions.append(_function(tool, f"tools[{i}]"))
        elif not native:
            name = kind or "untyped"
            raise InvalidRequest(
                f"The tool `{name[:40]}` (tools[{i}]) cannot run with this model: only "
                "`function` tools reach it.",
                param="tools",
            )
    choice = _tool_choice(body.get("tool_choice"), functions, native)
    if isinstance(choice, tuple):
        mode, allowed = choice
        functions = [tool for tool in functions if tool["function"]["name"] in allowed]
        choice = mode
    parallel = body.get("parallel_tool_calls")
    check(
        parallel is None or isinstance(parallel, bool), "parallel_tool_calls", "must be a boolean"
    )
    if not functions:  # "required" or a function cannot be met without them
        check(native or choice in (None, "auto", "none"), "tool_choice", "needs `tools`")
        return
    out["tools"] = functions
    if choice is not None:
        out["tool_choice"] = choice
    if parallel is not None:
        out["parallel_tool_calls"] = parallel


def _function(tool: dict[str, Any], param: str) -> dict[str, Any]:
    function: dict[str, Any] = {"name": string(tool.get("name"), f"{param}.name", empty=False)}
    description = tool.get("description")
    if description is not None:
        function["description"] = string(description, f"{param}.description")
    parameters = tool.get("parameters")
    ok = parameters is None or isinstance(parameters, dict)
    check(ok, f"{param}.parameters", "must be a JSON schema object")
    if parameters is not None:
        function["parameters"] = parameters
    strict = tool.get("strict")
    check(strict is None or isinstance(strict, bool), f"{param}.strict", "must be a boolean")
    if strict is not None:
        function["strict"] = strict
    return {"type": "function", "function": function}


def _tool_choice(
    choice: Any, functions: list[dict[str, Any]], native: bool
) -> str | dict[str, Any] | tuple[str, set[str]] | None:
    """The chat tool_choice; for `allowed_tools`, (the mode, the names of the allowed tools)."""
    if choice is None or choice in _CHOICES:
        return str(choice) if choice is not None else None
    if isinstance(choice, str):
        raise InvalidRequest(
            '`tool_choice` must be "auto", "none", "required" or an object.', param="tool_choice"
        )
    kind = kind_of(choice, "tool_choice")
    names = {tool["function"]["name"] for tool in functions}
    if kind == "function":
        name = string(choice.get("name"), "tool_choice.name", empty=False)
        check(name in names, "tool_choice.name", "must name a function tool of `tools`")
        return {"type": "function", "function": {"name": name}}
    if kind == "allowed_tools":
        mode, allowed = choice.get("mode"), choice.get("tools")
        check(mode in ("auto", "required"), "tool_choice.mode", 'must be "auto" or "required"')
        check(isinstance(allowed, list), "tool_choice.tools", "must be an array")
        picked: set[str] = set()
        for j, tool in enumerate(allowed):
            param = f"tool_choice.tools[{j}]"
            if kind_of(tool, param) == "function":
                picked.add(string(tool.get("name"), f"{param}.name", empty=False))
            elif not native:
                raise InvalidRequest(
                    f"`{param}` must be a function tool: this model runs no built-in tools.",
                    param=param,
                )
        return str(mode), picked
    if native:
        return None
    raise InvalidRequest(
        f"`tool_choice` of type `{str(kind)[:40]}` cannot be met by this model: it runs no "
        'built-in tools (use "auto", "none", "required", a function or allowed_tools).',
        param="tool_choice",
    )


# --- parameters --------------------------------------------------------------------------------


def _number(body: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    try:
        ok = ok and math.isfinite(value) and low <= value <= high
    except OverflowError:  # an integer too large for a float
        ok = False
    check(ok, key, f"must be a number from {low:g} to {high:g}")
    return float(value)


def _sampling(body: dict[str, Any], out: dict[str, Any]) -> None:
    for key, high in (("temperature", 2.0), ("top_p", 1.0)):
        value = _number(body, key, 0.0, high)
        if value is not None:
            out[key] = value
    most = body.get("max_output_tokens")
    if most is not None:
        ok = isinstance(most, int) and not isinstance(most, bool) and most >= 1
        check(ok, "max_output_tokens", "must be a positive integer")
        out["max_tokens"] = most
    for key in ("user", "safety_identifier"):
        value = body.get(key)
        check(value is None or isinstance(value, str), key, "must be a string")
        if value:
            out[key] = value
    metadata = body.get("metadata")
    ok = metadata is None or (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    )
    check(ok, "metadata", "must be an object of strings")
    include = body.get("include")
    ok = include is None or (isinstance(include, list) and all(isinstance(i, str) for i in include))
    check(ok, "include", "must be an array of strings")
    truncation = body.get("truncation")
    check(truncation in (None, "auto", "disabled"), "truncation", 'must be "auto" or "disabled"')
    store = body.get("store")
    check(store is None or isinstance(store, bool), "store", "must be a boolean")


def _text(body: dict[str, Any], out: dict[str, Any]) -> None:
    text = body.get("text")
    if text is None:
        return
    check(isinstance(text, dict), "text", "must be an object")
    verbosity = text.get("verbosity")
    ok = verbosity in (None, "low", "medium", "high")
    check(ok, "text.verbosity", 'must be "low", "medium" or "high"')
    if verbosity is not None:
        out["verbosity"] = verbosity
    fmt = text.get("format")
    if fmt is None:
        return
    kind = kind_of(fmt, "text.format")
    if kind == "text":
        return
    if kind == "json_object":
        out["response_format"] = {"type": "json_object"}
        return
    check(
        kind == "json_schema", "text.format.type", 'must be "text", "json_schema" or "json_object"'
    )
    name = string(fmt.get("name"), "text.format.name", empty=False)
    schema = fmt.get("schema")
    check(isinstance(schema, dict), "text.format.schema", "must be a JSON schema object")
    spec: dict[str, Any] = {"name": name, "schema": schema}
    description, strict = fmt.get("description"), fmt.get("strict")
    if description is not None:
        spec["description"] = string(description, "text.format.description")
    check(strict is None or isinstance(strict, bool), "text.format.strict", "must be a boolean")
    if strict is not None:
        spec["strict"] = strict
    out["response_format"] = {"type": "json_schema", "json_schema": spec}


def _reasoning(body: dict[str, Any], out: dict[str, Any]) -> None:
    reasoning = body.get("reasoning")
    if reasoning is None:
        return
    check(isinstance(reasoning, dict), "reasoning", "must be an object")
    effort = reasoning.get("effort")
    check(
        effort is None or effort in _EFFORTS,
        "reasoning.effort",
        f"must be one of {', '.join(_EFFORTS)}",
    )
    for key in ("summary", "generate_summary"):
        value = reasoning.get(key)
        ok = value in (None, "auto", "concise", "detailed")
        check(ok, f"reasoning.{key}", 'must be "auto", "concise" or "detailed"')
    if effort is not None:
        out["reasoning_effort"] = effort
