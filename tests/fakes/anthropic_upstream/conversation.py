"""A Messages request read into what the fake answers: the system prompt, tools and tool choice,
sampling and stop sequences, and the plan of the reply."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from tests.fakes.anthropic_upstream.blocks import (
    check_text_block,
    check_tool_pairing,
    is_number,
    scan_message,
    tool_input_json,
)
from tests.fakes.anthropic_upstream.errors import invalid_request
from tests.fakes.anthropic_upstream.models import (
    CACHED_INPUT_TOKENS,
    EVERY_TOKEN_CACHE_READ,
    EVERY_TOKEN_CACHE_WRITE_1H,
    EVERY_TOKEN_CACHE_WRITE_5M,
    MESSAGES_FIELDS,
    MODEL_CACHED,
    MODEL_EVERY_TOKEN,
    SAMPLING_PARAMS,
    TOOL_CHOICE_TYPES,
    TOOL_NAME_RE,
)
from tests.fakes.anthropic_upstream.thinking import read_thinking, signature_of, thought_text
from tests.fakes.schema_sample import sample
from tests.fakes.server import (
    chat_pieces,
    count_words,
)


def _system_words(system: object) -> int:
    if system is None:
        return 0
    if isinstance(system, str):
        return count_words(system)
    if not isinstance(system, list):
        raise invalid_request("system: Input should be a valid string or a valid list")
    words = 0
    for i, block in enumerate(system):
        where = f"system.{i}"
        if not isinstance(block, dict):
            raise invalid_request(f"{where}: Input should be a valid dictionary")
        if block.get("type") != "text":
            raise invalid_request(f"{where}.type: Input should be 'text'")
        words += count_words(check_text_block(block, where))
    return words


def _tool_names(tools: object) -> list[str]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise invalid_request("tools: Input should be a valid list")
    names: list[str] = []
    for i, tool in enumerate(tools):
        where = f"tools.{i}"
        if not isinstance(tool, dict):
            raise invalid_request(f"{where}: Input should be a valid dictionary")
        if tool.get("type", "custom") not in ("custom", None):
            raise invalid_request(
                f"{where}.type: the fake Anthropic upstream only supports custom tools"
            )
        name = tool.get("name")
        if not isinstance(name, str):
            raise invalid_request(f"{where}.custom.name: Field required")
        if not TOOL_NAME_RE.fullmatch(name):
            raise invalid_request(
                f"{where}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
            )
        description = tool.get("description")
        if description is not None and not isinstance(description, str):
            raise invalid_request(f"{where}.custom.description: Input should be a valid string")
        if "input_schema" not in tool:
            raise invalid_request(f"{where}.custom.input_schema: Field required")
        schema = tool["input_schema"]
        if not isinstance(schema, dict):
            raise invalid_request(
                f"{where}.custom.input_schema: Input should be a valid dictionary"
            )
        if schema.get("type") != "object":
            raise invalid_request(f"{where}.custom.input_schema.type: Input should be 'object'")
        if name in names:
            raise invalid_request("tools: Tool names must be unique.")
        names.append(name)
    return names


def _chosen_tool(choice: object, names: list[str]) -> str | None:
    """Name of the tool the reply would call (ignoring the conversation), or None."""
    if choice is None:
        choice = {"type": "auto"}
    if not isinstance(choice, dict):
        raise invalid_request("tool_choice: Input should be a valid dictionary")
    kind = choice.get("type")
    if kind not in TOOL_CHOICE_TYPES:
        raise invalid_request(
            f"tool_choice: Input tag '{kind}' found using 'type' does not match any of the "
            "expected tags: 'auto', 'any', 'tool', 'none'"
        )
    parallel = choice.get("disable_parallel_tool_use")
    if parallel is not None and not isinstance(parallel, bool):
        raise invalid_request(
            f"tool_choice.{kind}.disable_parallel_tool_use: Input should be a boolean"
        )
    if kind in ("any", "tool") and not names:
        raise invalid_request(
            "tool_choice: tool_choice may only be specified while providing tools."
        )
    if kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            raise invalid_request("tool_choice.tool.name: Field required")
        if name not in names:
            raise invalid_request(
                f"tool_choice.tool.name: Tool '{name}' not found in provided tools"
            )
        return name
    if kind == "none" or not names:
        return None
    return names[0]


def _forced_tool(choice: object, names: list[str]) -> str | None:
    """The tool a forced choice (validated by `_chosen_tool`) calls whatever the turn."""
    if not isinstance(choice, dict) or not names:
        return None
    if choice.get("type") == "tool":
        return str(choice["name"])
    return names[-1] if choice.get("type") == "any" else None


def _check_sampling(body: dict[str, Any], new_api: bool) -> None:
    if new_api:
        for name in SAMPLING_PARAMS:
            if name in body:
                raise invalid_request(f"{name}: Extra inputs are not permitted")
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is None:
            continue
        if not is_number(value):
            raise invalid_request(f"{name}: Input should be a valid number")
        if not 0.0 <= value <= 1.0:
            raise invalid_request(f"{name}: range: 0..1")
    top_k = body.get("top_k")
    if top_k is not None and (type(top_k) is not int or top_k < 0):
        raise invalid_request("top_k: Input should be greater than or equal to 0")
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise invalid_request("metadata: Input should be a valid dictionary")
        for key, value in metadata.items():
            if key != "user_id":
                raise invalid_request(f"metadata.{key}: Extra inputs are not permitted")
            if value is not None and not isinstance(value, str):
                raise invalid_request("metadata.user_id: Input should be a valid string")


def _stop_sequences(body: dict[str, Any]) -> list[str]:
    raw = body.get("stop_sequences")
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise invalid_request("stop_sequences: Input should be a valid list of strings")
    if any(not s.strip() for s in raw):
        raise invalid_request("stop_sequences: each stop sequence must contain non-whitespace")
    return raw


@dataclass(slots=True)
class _Conversation:
    """The validated parts of a Messages (or count_tokens) request that shape the reply."""

    model: str
    input_words: int
    last_user_text: str
    last_user_has_tool_result: bool
    tool_name: str | None  # tool the reply would call if the conversation allows it
    tool_after_result: str | None  # tool a forced choice calls after a tool result
    tool_schemas: dict[str, Any]


def parse_conversation(body: object, *, allowed: frozenset[str], new_api: bool) -> _Conversation:
    if not isinstance(body, dict):
        raise invalid_request("Request body must be a JSON object")
    for key in body:
        if key not in allowed:
            raise invalid_request(f"{key}: Extra inputs are not permitted")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid_request("model: Field required")
    messages = body.get("messages")
    if messages is None:
        raise invalid_request("messages: Field required")
    if not isinstance(messages, list):
        raise invalid_request("messages: Input should be a valid list")
    if not messages:
        raise invalid_request("messages: at least one message is required")

    last = len(messages) - 1
    turns = [scan_message(i, m, i == last, new_api) for i, m in enumerate(messages)]
    if turns[0].role != "user":
        raise invalid_request('messages: first message must use the "user" role')
    check_tool_pairing(turns)

    input_words = _system_words(body.get("system")) + sum(t.words for t in turns)
    echo_turn = next((t for t in reversed(turns) if t.role == "user" and t.has_echo), None)
    last_user = next(t for t in reversed(turns) if t.role == "user")
    names = _tool_names(body.get("tools"))
    return _Conversation(
        model=model,
        input_words=input_words,
        last_user_text=" ".join(echo_turn.parts) if echo_turn is not None else "",
        last_user_has_tool_result=bool(last_user.tool_results),
        tool_name=_chosen_tool(body.get("tool_choice"), names),
        tool_after_result=_forced_tool(body.get("tool_choice"), names),
        tool_schemas={tool["name"]: tool["input_schema"] for tool in body.get("tools") or []},
    )


def _usage(model: str, input_words: int, output_tokens: int) -> dict[str, Any]:
    """Anthropic's usage: `input_tokens` leaves out what was read from the cache and written to
    it. fake-every-token has a cached prompt prefix on top of the words: some of it read, some
    written for 5 minutes, some for 1 hour."""
    total = max(input_words, 1)
    cached = CACHED_INPUT_TOKENS if model == MODEL_CACHED else 0
    write_5m = write_1h = 0
    if model == MODEL_EVERY_TOKEN:
        cached, write_5m, write_1h = (
            EVERY_TOKEN_CACHE_READ,
            EVERY_TOKEN_CACHE_WRITE_5M,
            EVERY_TOKEN_CACHE_WRITE_1H,
        )
        total += cached
    return {
        "input_tokens": max(total - cached, 1) if cached else total,
        "cache_creation_input_tokens": write_5m + write_1h,
        "cache_read_input_tokens": cached,
        "cache_creation": {
            "ephemeral_5m_input_tokens": write_5m,
            "ephemeral_1h_input_tokens": write_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


@dataclass(slots=True)
class MessagePlan:
    """Everything needed to render a message, streamed or not."""

    model: str
    stream: bool
    pieces: list[str]  # reply text pieces (text mode) or partial_json pieces (tool mode)
    stop_reason: str
    stop_sequence: str | None
    input_words: int
    output_tokens: int
    tool_name: str | None
    tool_use_id: str | None
    tool_input: dict[str, Any] | None
    thinking: str | None = None  # the thinking block's text ("" when omitted), None: no thinking

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def usage(self, output_tokens: int | None = None) -> dict[str, Any]:
        return _usage(
            self.model,
            self.input_words,
            self.output_tokens if output_tokens is None else output_tokens,
        )

    def thinking_block(self) -> list[dict[str, Any]]:
        if self.thinking is None:
            return []
        return [
            {
                "type": "thinking",
                "thinking": self.thinking,
                "signature": signature_of(self.thinking),
            }
        ]

    def content(self) -> list[dict[str, Any]]:
        if self.tool_name is not None:
            return [
                *self.thinking_block(),
                {
                    "type": "tool_use",
                    "id": self.tool_use_id,
                    "name": self.tool_name,
                    "input": self.tool_input,
                },
            ]
        return [*self.thinking_block(), {"type": "text", "text": self.text}]


def _apply_stop_sequences(text: str, stops: list[str]) -> tuple[str, str | None]:
    """Cut ``text`` at the earliest stop sequence (the longest one on ties)."""
    best: tuple[int, int, str] | None = None
    for stop in stops:
        at = text.find(stop)
        if at >= 0 and (best is None or (at, -len(stop)) < (best[0], best[1])):
            best = (at, -len(stop), stop)
    if best is None:
        return text, None
    return text[: best[0]], best[2]


def plan_message(body: object, *, new_api: bool) -> MessagePlan:
    convo = parse_conversation(body, allowed=MESSAGES_FIELDS, new_api=new_api)
    assert isinstance(body, dict)  # checked by parse_conversation
    if "max_tokens" not in body:
        raise invalid_request("max_tokens: Field required")
    max_tokens = body["max_tokens"]
    if type(max_tokens) is not int:
        raise invalid_request("max_tokens: Input should be a valid integer")
    if max_tokens < 1:
        raise invalid_request("max_tokens: Input should be greater than or equal to 1")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise invalid_request("stream: Input should be a valid boolean")
    _check_sampling(body, new_api)
    stops = _stop_sequences(body)

    tool_name = convo.tool_after_result if convo.last_user_has_tool_result else convo.tool_name
    choice = body.get("tool_choice")
    forced = isinstance(choice, dict) and choice.get("type") in ("any", "tool")
    thinks = read_thinking(body, max_tokens, forced)
    thinking = None
    if thinks is not None:
        # the thinking shown is the one signed: an omitted thinking is signed empty
        thinking = thought_text(convo.last_user_text) if thinks.shown else ""
    # thinking counts inside max_tokens: the words it takes are not the answer's
    thought_tokens = count_words(thought_text(convo.last_user_text)) if thinks else 0
    if tool_name is not None:
        tool_input = sample(convo.tool_schemas.get(tool_name), convo.last_user_text)
        arguments = tool_input_json(tool_input)
        digest = hashlib.sha256(f"{tool_name}\0{arguments}".encode()).hexdigest()
        return MessagePlan(
            model=convo.model,
            stream=stream,
            pieces=chat_pieces(arguments),
            stop_reason="tool_use",
            stop_sequence=None,
            input_words=convo.input_words,
            output_tokens=count_words(arguments) + thought_tokens,
            tool_name=tool_name,
            tool_use_id="toolu_" + digest[:24],
            tool_input=tool_input,
            thinking=thinking,
        )

    text, stop_sequence = _apply_stop_sequences("Echo: " + convo.last_user_text, stops)
    stop_reason = "end_turn" if stop_sequence is None else "stop_sequence"
    pieces = chat_pieces(text)
    room = max(max_tokens - thought_tokens, 1)
    if room < len(pieces):
        pieces = pieces[:room]
        pieces[-1] = pieces[-1].rstrip()
        stop_reason, stop_sequence = "max_tokens", None
    return MessagePlan(
        model=convo.model,
        stream=stream,
        pieces=pieces,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        input_words=convo.input_words,
        output_tokens=count_words("".join(pieces)) + thought_tokens,
        tool_name=None,
        tool_use_id=None,
        tool_input=None,
        thinking=thinking,
    )
