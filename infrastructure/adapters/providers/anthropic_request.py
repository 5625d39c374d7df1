"""OpenAI chat request → Anthropic Messages request, as a pure function.

Legacy `functions` / `function_call` are first said with tools (`legacy_functions`);
`response_format` becomes a tool call (`anthropic_structured`); `reasoning_effort` becomes
thinking (`anthropic_thinking`). Whatever cannot be translated
faithfully raises `InvalidRequest` (a 400 naming the parameter);
OpenAI parameters with no Anthropic meaning (seed, logit_bias, penalties, logprobs, store, ...)
are dropped, since the output is built from the parameters known here only.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.anthropic_messages import conversation
from infrastructure.adapters.providers.anthropic_structured import ask_for_structured_answer
from infrastructure.adapters.providers.anthropic_thinking import add_thinking
from infrastructure.adapters.providers.legacy_functions import with_tools


def chat_request(
    body: dict[str, Any], upstream_model: str, *, max_tokens_default: int, stream: bool
) -> dict[str, Any]:
    return structured_chat_request(
        body, upstream_model, max_tokens_default=max_tokens_default, stream=stream
    )[0]


def structured_chat_request(
    body: dict[str, Any], upstream_model: str, *, max_tokens_default: int, stream: bool
) -> tuple[dict[str, Any], str | None]:
    """The Anthropic request, and the name of the tool that carries a structured answer (see
    `anthropic_structured`), None when the answer is plain text."""
    body = with_tools(body)
    _refuse_unsupported(body)
    system, turns = conversation(body.get("messages"))
    out: dict[str, Any] = {
        "model": upstream_model,
        "max_tokens": _max_tokens(body, max_tokens_default),
        "messages": turns,
    }
    if system:
        out["system"] = system
    _sampling(body, out)
    _tools(body, out)
    answer_tool = ask_for_structured_answer(body.get("response_format"), out)
    add_thinking(body, out)
    if stream:
        out["stream"] = True
    return out, answer_tool


def _refuse_unsupported(body: dict[str, Any]) -> None:
    n = body.get("n")
    if n is not None and (not _is_int(n) or n < 1):
        raise InvalidRequest("`n` must be a positive integer.", param="n")
    if n is not None and n > 1:
        raise InvalidRequest("This model can only return one choice: `n` must be 1.", param="n")


# --- parameters --------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    number = math.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):  # an integer too large for a float
            number = float(value)
    if not math.isfinite(number):
        raise InvalidRequest(f"`{key}` must be a number.", param=key)
    return number


def _max_tokens(body: dict[str, Any], default: int) -> int:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is None:
            continue
        if not _is_int(value) or value < 1:
            raise InvalidRequest(f"`{key}` must be a positive integer.", param=key)
        return int(value)
    return default


def _sampling(body: dict[str, Any], out: dict[str, Any]) -> None:
    temperature = _number(body, "temperature")
    if temperature is not None:
        # OpenAI's range is 0..2, Anthropic's 0..1. Values above 1 are clamped rather than
        # rescaled: 0..1 keeps its meaning, and "very random" stays the most random there is.
        out["temperature"] = min(temperature, 1.0)
    top_p = _number(body, "top_p")
    # top_p = 1 is a no-op (and the default); recent Claude models refuse temperature + top_p.
    if top_p is not None and top_p != 1.0:
        out["top_p"] = top_p
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(item, str) for item in stops):
            raise InvalidRequest("`stop` must be a string or an array of strings.", param="stop")
        if any(stops):
            out["stop_sequences"] = [item for item in stops if item]
    for key in ("user", "safety_identifier"):
        user = body.get(key)
        if user is not None and not isinstance(user, str):
            raise InvalidRequest(f"`{key}` must be a string.", param=key)
        if user and "metadata" not in out:
            out["metadata"] = {"user_id": user}


def _tools(body: dict[str, Any], out: dict[str, Any]) -> None:
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise InvalidRequest("`tools` must be an array.", param="tools")
    if tools:
        out["tools"] = [_tool(tool, f"tools[{i}]") for i, tool in enumerate(tools)]
    choice = _tool_choice(body.get("tool_choice"), has_tools=bool(tools))
    parallel = body.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise InvalidRequest(
            "`parallel_tool_calls` must be a boolean.", param="parallel_tool_calls"
        )
    if parallel is False and tools:
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    if choice is not None:
        out["tool_choice"] = choice


def _tool(tool: Any, param: str) -> dict[str, Any]:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(function, dict) or tool.get("type", "function") != "function":
        raise InvalidRequest(f"`{param}` must be a function tool.", param=param)
    name, description = function.get("name"), function.get("description")
    parameters = function.get("parameters")
    if not isinstance(name, str) or not name:
        param = f"{param}.function.name"
        raise InvalidRequest(f"`{param}` must be a non-empty string.", param=param)
    if description is not None and not isinstance(description, str):
        param = f"{param}.function.description"
        raise InvalidRequest(f"`{param}` must be a string.", param=param)
    if parameters is not None and not isinstance(parameters, dict):
        param = f"{param}.function.parameters"
        raise InvalidRequest(f"`{param}` must be a JSON schema object.", param=param)
    out: dict[str, Any] = {"name": name}
    if description:
        out["description"] = description
    out["input_schema"] = parameters or {"type": "object", "properties": {}}
    return out


def _tool_choice(choice: Any, *, has_tools: bool) -> dict[str, Any] | None:
    if choice is None or (choice in ("auto", "none") and not has_tools):
        return None
    named = choice.get("function") if isinstance(choice, dict) else None
    if choice in ("auto", "required", "none"):
        translated = {"type": {"required": "any"}.get(choice, choice)}
    elif (
        isinstance(named, dict)
        and choice.get("type") == "function"
        and isinstance(named.get("name"), str)
    ):
        translated = {"type": "tool", "name": named["name"]}
    else:
        raise InvalidRequest(
            '`tool_choice` must be "auto", "required", "none" or a function.',
            param="tool_choice",
        )
    if not has_tools:
        raise InvalidRequest("`tool_choice` needs `tools`.", param="tool_choice")
    return translated
