"""OpenAI's legacy `functions` / `function_call`, as pure functions: a request using them becomes
one with `tools` / `tool_choice` (which the vendor translators understand), and the answer to it
goes back in the legacy shape, `message.function_call` (streamed: `delta.function_call`).

Legacy calls have no ids: an assistant turn's `function_call` is given the id
`call_legacy_<message index>`, and the `function` message that follows (named like the call)
answers that id. A legacy request asks for one call at a time (`parallel_tool_calls: false`).
"""

from __future__ import annotations

from typing import Any

from domains.providers.errors import InvalidRequest


def uses_legacy_functions(body: dict[str, Any]) -> bool:
    """Whether the answer goes back as `function_call` (the request used the legacy fields)."""
    return body.get("functions") is not None or body.get("function_call") is not None


def _needs_rewrite(body: dict[str, Any]) -> bool:
    if uses_legacy_functions(body):
        return True
    messages = body.get("messages")
    return isinstance(messages, list) and any(
        isinstance(m, dict) and (m.get("role") == "function" or m.get("function_call") is not None)
        for m in messages
    )


def with_tools(body: dict[str, Any]) -> dict[str, Any]:
    """The request, with the legacy fields (and legacy turns) said with tools; unchanged when
    it uses none of them. Both the legacy and the current field for one thing is a 400."""
    if not _needs_rewrite(body):
        return body
    out = {k: v for k, v in body.items() if k not in ("functions", "function_call")}
    functions = body.get("functions")
    if functions is not None:
        if body.get("tools") is not None:
            raise InvalidRequest("Send either `functions` or `tools`, not both.", param="functions")
        if not isinstance(functions, list):
            raise InvalidRequest("`functions` must be an array.", param="functions")
        out["tools"] = [_tool(f, f"functions[{i}]") for i, f in enumerate(functions)]
        if functions and body.get("parallel_tool_calls") is None:
            out["parallel_tool_calls"] = False
    choice = body.get("function_call")
    if choice is not None:
        if body.get("tool_choice") is not None:
            raise InvalidRequest(
                "Send either `function_call` or `tool_choice`, not both.", param="function_call"
            )
        out["tool_choice"] = _tool_choice(choice)
    if isinstance(body.get("messages"), list):
        out["messages"] = _messages(body["messages"])
    return out


def _tool(function: Any, param: str) -> dict[str, Any]:
    if not isinstance(function, dict):
        raise InvalidRequest(f"`{param}` must be a function definition.", param=param)
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Any:
    if choice in ("none", "auto"):
        return choice
    name = choice.get("name") if isinstance(choice, dict) else None
    if not isinstance(name, str) or not name:
        raise InvalidRequest(
            '`function_call` must be "none", "auto" or {"name": ...}.', param="function_call"
        )
    return {"type": "function", "function": {"name": name}}


def _messages(messages: list[Any]) -> list[Any]:
    out: list[Any] = []
    pending: dict[str, str] = {}  # function name → id of its latest unanswered legacy call
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            out.append(message)  # the vendor translator names the fault
            continue
        call = message.get("function_call")
        if message.get("role") == "assistant" and call is not None:
            at = f"messages[{i}].function_call"
            name = call.get("name") if isinstance(call, dict) else None
            if not isinstance(name, str) or not name:
                raise InvalidRequest(f"`{at}` must be an object with a `name`.", param=at)
            if message.get("tool_calls"):
                raise InvalidRequest(
                    f"`messages[{i}]` holds both `function_call` and `tool_calls`.", param=at
                )
            call_id = f"call_legacy_{i}"
            pending[name] = call_id
            rest = {k: v for k, v in message.items() if k != "function_call"}
            function = {"name": name, "arguments": call.get("arguments") or "{}"}
            out.append(
                {**rest, "tool_calls": [{"id": call_id, "type": "function", "function": function}]}
            )
        elif message.get("role") == "function":
            name = message.get("name")
            if not isinstance(name, str) or name not in pending:
                at = f"messages[{i}].name"
                raise InvalidRequest(
                    f"`{at}` must name a function the assistant called just before.", param=at
                )
            content = message.get("content")
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": pending.pop(name),
                    "content": content if content is not None else "",
                }
            )
        else:
            out.append(message)
    return out


# --- answers -----------------------------------------------------------------------------------


def legacy_reply(completion: dict[str, Any]) -> dict[str, Any]:
    """A `chat.completion` whose tool calls become `function_call` (the first call of each
    choice; a legacy request asks for one) and whose finish_reason "tool_calls" becomes
    "function_call"."""
    for choice in completion.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        calls = message.pop("tool_calls", None)
        if calls:
            function = calls[0].get("function") or {}
            message["function_call"] = {
                "name": function.get("name", ""),
                "arguments": function.get("arguments", "{}"),
            }
        if choice.get("finish_reason") == "tool_calls":
            choice["finish_reason"] = "function_call"
    return completion


class LegacyChunks:
    """Streamed tool call deltas → `delta.function_call` deltas, for one stream. Only each
    choice's first call is kept (its OpenAI index is whichever came first for that choice)."""

    def __init__(self) -> None:
        self._kept: dict[int, int] = {}  # choice index → the tool call index it keeps

    def __call__(self, chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for chunk in chunks:
            choices = chunk.get("choices") or []
            if all(self._rewrite(choice) for choice in choices):
                out.append(chunk)
        return out

    def _rewrite(self, choice: dict[str, Any]) -> bool:
        """Rewrite one choice delta in place; False when nothing is left to send."""
        if choice.get("finish_reason") == "tool_calls":
            choice["finish_reason"] = "function_call"
        delta = choice.get("delta")
        calls = delta.pop("tool_calls", None) if isinstance(delta, dict) else None
        if not calls:
            return True
        assert isinstance(delta, dict)
        kept = self._kept.setdefault(choice.get("index", 0), calls[0].get("index", 0))
        function: dict[str, Any] = {}
        for call in calls:
            if call.get("index", 0) == kept:
                part = call.get("function") or {}
                if part.get("name"):
                    function["name"] = part["name"]
                function["arguments"] = function.get("arguments", "") + (
                    part.get("arguments") or ""
                )
        if function:
            delta["function_call"] = function
        return bool(delta) or choice.get("finish_reason") is not None
