"""Reading a chat or embeddings request as OpenAI validates it, into what the fake answers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from tests.fakes.openai_upstream.errors import bad_request
from tests.fakes.openai_upstream.models import (
    CACHED_INPUT_TOKENS,
    MAX_CHOICES,
    MODEL_CACHED,
    MODEL_CACHED_REASONING,
    MODEL_FLOOD_STREAM,
    MODEL_REASONING,
    MODEL_RUNAWAY,
    MODEL_SLOW_STREAM,
    REASONING_TOKENS,
    RUNAWAY_PIECE_WORDS,
    RUNAWAY_PIECES,
    SLOW_STREAM_WORDS,
    encode,
)
from tests.fakes.schema_sample import sample
from tests.fakes.server import (
    chat_pieces,
    count_words,
)


def _content_text(content: object) -> str:
    """Text of a message ``content`` (string, list of parts, or None)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        words: list[str] = []
        for part in content:
            if not isinstance(part, dict):
                raise bad_request("Invalid content part: expected an object.", "messages")
            kind = part.get("type")
            if kind == "text":
                text = part.get("text")
                if not isinstance(text, str):
                    raise bad_request("Invalid text part: 'text' must be a string.", "messages")
                words.append(text)
            elif kind == "image_url":
                words.append("[image]")
        return " ".join(words)
    raise bad_request("Invalid 'content': expected a string or an array of parts.", "messages")


def positive_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if type(value) is not int or value < 1:
        raise bad_request(
            f"Invalid '{name}': expected an integer greater than or equal to 1.",
            name,
            "invalid_value",
        )
    return value


def _function_name(body: dict[str, Any]) -> str | None:
    """Under the legacy `functions` / `function_call`: the name of the function to call, or
    None when the reply is plain text."""
    functions = body.get("functions")
    if not isinstance(functions, list) or not functions:
        raise bad_request("Invalid 'functions': expected a non-empty array.", "functions")
    choice = body.get("function_call")
    if choice == "none":
        return None
    if isinstance(choice, dict):
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            raise bad_request("Invalid 'function_call': missing function name.", "function_call")
        return name
    first = functions[0]
    name = first.get("name") if isinstance(first, dict) else None
    if not isinstance(name, str) or not name:
        raise bad_request("Invalid 'functions[0]': missing function name.", "functions")
    return name


def _tool_name(body: dict[str, Any]) -> str | None:
    """Name of the function to call, or None when the reply is plain text."""
    if body.get("functions") is not None:
        return _function_name(body)
    tools = body.get("tools")
    if not tools:
        return None
    if not isinstance(tools, list):
        raise bad_request("Invalid 'tools': expected an array.", "tools")
    choice = body.get("tool_choice")
    if choice == "none":
        return None
    if isinstance(choice, dict):
        fn = choice.get("function")
        name = fn.get("name") if isinstance(fn, dict) else None
        if not isinstance(name, str) or not name:
            raise bad_request("Invalid 'tool_choice': missing function name.", "tool_choice")
        return name
    first = tools[0]
    fn = first.get("function") if isinstance(first, dict) else None
    name = fn.get("name") if isinstance(fn, dict) else None
    if not isinstance(name, str) or not name:
        raise bad_request("Invalid 'tools[0]': missing function name.", "tools")
    return name


def _choices(body: dict[str, Any]) -> int:
    """`n`: how many choices to answer, 1 to `MAX_CHOICES`."""
    n = positive_int(body, "n") or 1
    if n > MAX_CHOICES:
        raise bad_request(
            f"Invalid 'n': integer above maximum value. Expected a value <= {MAX_CHOICES}, "
            f"but got {n} instead.",
            "n",
            "integer_above_max_value",
        )
    return n


def _structured_text(body: dict[str, Any], last_user: str, every_text: str) -> str | None:
    """What the model writes under `response_format`: a JSON value its `json_schema` accepts,
    or any JSON object for `json_object` (whose conversation must say "json", as OpenAI
    requires); None for plain text."""
    form = body.get("response_format")
    if form is None:
        return None
    if not isinstance(form, dict):
        raise bad_request(
            "Invalid type for 'response_format': expected an object.",
            "response_format",
            "invalid_type",
        )
    kind = form.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        if "json" not in every_text.lower():
            raise bad_request(
                "'messages' must contain the word 'json' in some form, to use "
                "'response_format' of type 'json_object'.",
                "messages",
            )
        return encode({"query": last_user}).decode()
    if kind == "json_schema":
        spec = form.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
            raise bad_request(
                "Missing required parameter: 'response_format.json_schema.name'.",
                "response_format.json_schema.name",
                "missing_required_parameter",
            )
        return encode(sample(spec.get("schema") or {}, last_user)).decode()
    raise bad_request(
        f"Invalid value: {encode(kind).decode()}. Supported values are: 'text', "
        "'json_object', and 'json_schema'.",
        "response_format.type",
        "invalid_value",
    )


def usage_of(
    prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0, reasoning_tokens: int = 0
) -> dict[str, Any]:
    """OpenAI's chat usage: the cached tokens are part of the prompt, the reasoning tokens part
    of the completion."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
    }


def cached_and_reasoning(model: str, prompt_tokens: int) -> tuple[int, int]:
    """(cached input tokens, reasoning tokens) the model reports: ``fake-cached`` a few cached
    ones, ``fake-reasoning`` a few reasoning ones, ``fake-cached-reasoning`` both."""
    cached = min(CACHED_INPUT_TOKENS, prompt_tokens)
    if model == MODEL_CACHED:
        return cached, 0
    if model == MODEL_REASONING:
        return 0, REASONING_TOKENS
    if model == MODEL_CACHED_REASONING:
        return cached, REASONING_TOKENS
    return 0, 0


@dataclass(slots=True)
class ChatPlan:
    """Everything needed to render a chat completion, streamed or not."""

    model: str
    stream: bool
    include_usage: bool
    pieces: list[str]  # reply text pieces (text mode) or argument pieces (tool mode)
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    tool_name: str | None
    tool_call_id: str | None
    legacy: bool = False  # the call is a legacy `function_call` (the request sent `functions`)
    prompt: str = ""
    flood: int = 0  # words streamed after the pieces, made as they are sent
    choices: int = 1  # `n`: each choice answers the same
    cached_tokens: int = 0
    reasoning_tokens: int = 0  # part of completion_tokens

    @property
    def usage(self) -> dict[str, Any]:
        return usage_of(
            self.prompt_tokens, self.completion_tokens, self.cached_tokens, self.reasoning_tokens
        )

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def call_id(self, choice: int) -> str | None:
        """The tool call's id in choice `choice` (each choice's call is a call of its own)."""
        if self.tool_call_id is None or choice == 0:
            return self.tool_call_id
        return "call_" + hashlib.sha256(f"{self.tool_call_id}\0{choice}".encode()).hexdigest()[:24]


def plan_chat(body: object) -> ChatPlan:
    if not isinstance(body, dict):
        raise bad_request("Invalid request body: expected a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("You must provide a model parameter.", "model")
    messages = body.get("messages")
    if messages is None:
        raise bad_request(
            "Missing required parameter: 'messages'.", "messages", "missing_required_parameter"
        )
    if not isinstance(messages, list) or not messages:
        raise bad_request(
            "Invalid 'messages': expected a non-empty array.", "messages", "invalid_value"
        )

    prompt_words = 0
    last_user = ""
    texts: list[str] = []
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise bad_request("Invalid message: expected an object with a 'role'.", "messages")
        text = _content_text(message.get("content"))
        texts.append(text)
        prompt_words += count_words(text)
        if message["role"] in ("user", "tool", "function"):
            last_user = text
    choices = _choices(body)
    structured = _structured_text(body, last_user, " ".join(texts))

    stream = body.get("stream") is True
    stream_options = body.get("stream_options")
    if stream_options is not None and not stream:
        raise bad_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
        )
    include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage") is True

    limits = (positive_int(body, "max_tokens"), positive_int(body, "max_completion_tokens"))
    max_words = min((v for v in limits if v is not None), default=None)

    flood = 0
    tool_name = _tool_name(body)
    if messages[-1]["role"] in ("tool", "function"):
        tool_name = None  # after a tool result the model answers with text
    legacy = body.get("functions") is not None
    if tool_name is not None:
        arguments = '{"query": ' + encode(last_user).decode() + "}"
        pieces = chat_pieces(arguments)
        call_id = "call_" + hashlib.sha256(f"{tool_name}\0{arguments}".encode()).hexdigest()[:24]
        finish_reason = "function_call" if legacy else "tool_calls"
    elif model == MODEL_FLOOD_STREAM:
        pieces, call_id, finish_reason = [], None, "stop"
        flood = min(max_words or 1000, 100_000_000)
    elif model == MODEL_RUNAWAY:  # the limits asked for are ignored
        pieces = ["run" + " run" * (RUNAWAY_PIECE_WORDS - 1)]
        pieces += [" run" * RUNAWAY_PIECE_WORDS] * (RUNAWAY_PIECES - 1)
        call_id = None
        finish_reason = "stop"
    elif model == MODEL_SLOW_STREAM:
        words = min(max_words or SLOW_STREAM_WORDS, 100_000)
        pieces = chat_pieces(" ".join(f"tok{i}" for i in range(1, words + 1)))
        call_id = None
        finish_reason = "stop"
    else:
        pieces = chat_pieces("Echo: " + last_user if structured is None else structured)
        call_id = None
        finish_reason = "stop"
        if max_words is not None and max_words < len(pieces):
            pieces = pieces[:max_words]
            pieces[-1] = pieces[-1].rstrip()
            finish_reason = "length"

    prompt_tokens = max(prompt_words, 1)
    cached_tokens, reasoning_tokens = cached_and_reasoning(model, prompt_tokens)
    return ChatPlan(
        model=model,
        stream=stream,
        include_usage=include_usage,
        pieces=pieces,
        finish_reason=finish_reason,
        prompt_tokens=prompt_tokens,
        completion_tokens=(count_words("".join(pieces)) + flood + reasoning_tokens) * choices,
        cached_tokens=cached_tokens,
        reasoning_tokens=reasoning_tokens * choices,
        tool_name=tool_name,
        tool_call_id=call_id,
        legacy=legacy,
        prompt=last_user,
        flood=flood,
        choices=choices,
    )


def embedding_inputs(raw: object) -> tuple[list[bytes], int]:
    """Canonical bytes per input and the prompt token count."""
    if isinstance(raw, str):
        return [raw.encode()], count_words(raw)
    if not isinstance(raw, list) or not raw:
        raise bad_request(
            "Invalid 'input': expected a string, an array of strings or an array of token arrays.",
            "input",
        )
    if all(isinstance(x, str) for x in raw):
        return [x.encode() for x in raw], sum(count_words(x) for x in raw)
    if all(type(x) is int for x in raw):
        return [encode(raw)], len(raw)
    if all(isinstance(x, list) and x and all(type(t) is int for t in x) for x in raw):
        return [encode(x) for x in raw], sum(len(x) for x in raw)
    raise bad_request(
        "Invalid 'input': expected a string, an array of strings or an array of token arrays.",
        "input",
    )
