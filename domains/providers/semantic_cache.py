"""The semantic cache's rules, in pure Python: which question of a request is compared, and with
which other requests it may be compared at all.

The text compared is the conversation's **last user message** (its text parts joined), written
small (lower case, one space, no closing punctuation: the embedding model tells `Austria` from
`austria`, a paraphrase should not), and without its function words (`what is the`, `how do
I`, `tell me`...; a negation stays): a static model averages its tokens' vectors, and words
every question has would bring any two questions together (measured on the paraphrase set:
about twice the hits at the same false hits).

Everything else must be the same for two requests to be compared: the request is hashed with
that message left out (`question_of`'s partition), so the model, the tools and tool choice, the
response format, the system prompt, the sampling parameters and the earlier turns of the
conversation are part of the partition, with the tenant scope, the dialect and whether the
answer streams. The numbers the question says are part of it too: "convert 10 miles" and
"convert 12 miles" are never compared (a static embedding barely tells them apart).

A static model does not see the order of words: "convert a string to an integer" and "convert
an integer to a string" are the same question to it (the benchmark's one false hit at the
default threshold).

A conversation with a tool result, or an image, is not looked up unless the settings allow it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import msgspec

from domains.providers.response_cache import DELIVERY_ONLY, canonical

_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CLOSING = "?!.;:。？！ "
QUESTION = "\x00question"
"""What stands for the compared message in the partition's hash."""


class Question(msgspec.Struct, frozen=True, kw_only=True):
    """A request's compared text, and the partition of requests it is compared with."""

    text: str
    partition: str


def normalised(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower().rstrip(_CLOSING)


_FUNCTION_WORDS = """
a an the what what's whats which who whom whose how is are was were be been do does did can
could would should will shall may might i me my you your we our they their it its of in on at
to for from by with about as and or tell give show explain please name describe there this that
these those some any one kind type usually today home best way good get make
"""
FUNCTION_WORDS: frozenset[str] = frozenset(_FUNCTION_WORDS.split())
"""Left out of the compared text (negations are not: `not`, `no`, `never`, `without` stay)."""
_WORD = re.compile(r"[\w'’-]+")


def compared(text: str) -> str:
    """The text the embedding is made of: written small, its function words left out (all of
    it when it has nothing else)."""
    small = normalised(text)
    words = [word.strip("'’") for word in _WORD.findall(small)]
    kept = [word for word in words if word and word not in FUNCTION_WORDS]
    return " ".join(kept) or small


def _text_of(content: Any) -> str | None:
    """The text of a message's content (a string, or its text parts joined); None when a part
    is not text (an image, a file, a tool result...)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
            if part.get("type", "text") not in ("text", "input_text"):
                return None
            texts.append(part["text"])
        else:
            return None
    return "\n".join(texts)


_IMAGE_TYPES = ("image", "image_url", "input_image", "file", "input_file", "document")
_TOOL_TYPES = ("tool_result", "function_call_output", "function_call", "tool_use")


def _parts(value: Any) -> list[Mapping[str, Any]]:
    """Every mapping inside `value` (messages, their parts, Gemini's parts...)."""
    found: list[Mapping[str, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def has_tool_results(kind: str, body: Mapping[str, Any]) -> bool:
    conversation = body.get("contents" if kind == "gemini" else "input", body.get("messages"))
    for part in _parts(conversation):
        if part.get("role") in ("tool", "function") or part.get("type") in _TOOL_TYPES:
            return True
        if "functionResponse" in part or "tool_calls" in part or "functionCall" in part:
            return True
    return False


def has_images(kind: str, body: Mapping[str, Any]) -> bool:
    conversation = body.get("contents" if kind == "gemini" else "input", body.get("messages"))
    for part in _parts(conversation):
        if part.get("type") in _IMAGE_TYPES or "inlineData" in part or "fileData" in part:
            return True
    return False


def _last_user(messages: Any, role_key: str = "role") -> int | None:
    if not isinstance(messages, list):
        return None
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, Mapping) and message.get(role_key) == "user":
            return index
    return None


def _asked(kind: str, body: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(the last user message's text, the body with it left out), or None when the request has
    no such text."""
    rest = {key: value for key, value in body.items() if key not in DELIVERY_ONLY}
    rest.pop("model", None)
    if kind == "completions":
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            return None
        rest["prompt"] = QUESTION
        return prompt, rest
    if kind == "responses" and isinstance(body.get("input"), str):
        rest["input"] = QUESTION
        return str(body["input"]), rest
    field = {"responses": "input", "gemini": "contents"}.get(kind, "messages")
    messages = body.get(field)
    index = _last_user(messages)
    if index is None or not isinstance(messages, list):
        return None
    message = messages[index]
    content = message.get("parts") if kind == "gemini" else message.get("content")
    text = _text_of(content)
    if text is None:
        return None
    rest[field] = [*messages[:index], {**message, "content": QUESTION, "parts": None}]
    rest[field].extend(messages[index + 1 :])
    return text, rest


_ENCODER = msgspec.json.Encoder(order="sorted")


def question_of(
    *,
    scope: str,
    kind: str,
    model: str,
    body: Mapping[str, Any],
    stream: bool,
    include_usage: bool,
    allow_tool_results: bool = False,
    allow_images: bool = False,
) -> Question | None:
    """The request's compared question and its partition, or None when it is not compared (no
    user text, or a tool result or an image the settings do not allow)."""
    if not allow_tool_results and has_tool_results(kind, body):
        return None
    if not allow_images and has_images(kind, body):
        return None
    asked = _asked(kind, body)
    if asked is None:
        return None
    text, rest = asked
    small = compared(text)
    if not small:
        return None
    encoded = _ENCODER.encode(
        {
            "v": 1,
            "scope": scope,
            "kind": kind,
            "model": model,
            "stream": stream,
            "usage": include_usage and stream,
            "numbers": _NUMBER.findall(small),
            "body": canonical(rest),
        }
    )
    return Question(text=small, partition=hashlib.blake2b(encoded, digest_size=16).hexdigest())
