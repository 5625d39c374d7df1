"""OpenAI Responses input items → OpenAI chat messages, as a pure function (the conversation part
of `translate_request`).

Items are read in order: messages (any role; `developer` becomes `system`, the role every chat
upstream knows), `function_call` items (consecutive calls, and the assistant message just before
them, become one assistant message with `tool_calls`), `function_call_output` items (tool
messages; the images of an output move to a user message right after the tool messages, since
chat tool messages carry text only), `item_reference` (the referred item of the stored
conversation). A `reasoning` item that carries Anthropic thinking (its `encrypted_content`, see
`reasoning_items`) gives it to the next assistant message (`thinking_blocks`); other reasoning
items carry nothing a chat upstream can read and are left out. Items
only OpenAI can run (web search calls, computer calls...) raise `InvalidRequest` unless the body
goes to OpenAI itself (`native`: the translation then only serves the prompt's estimate).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domains.providers.errors import InvalidRequest
from interfaces.http.responses.reasoning_items import thinking_of

JOIN = "\n\n"
MESSAGE_ROLES = ("user", "assistant", "system", "developer")
_INPUT_PARTS = ("input_text", "input_image", "input_file", "input_audio")
_ASSISTANT_PARTS = ("output_text", "refusal", "input_text")


def check(ok: bool, param: str, what: str) -> None:
    if not ok:
        raise InvalidRequest(f"`{param}` {what}." if param else f"{what}.", param=param or None)


def kind_of(item: Any, param: str) -> str | None:
    check(isinstance(item, dict), param, "must be an object")
    kind = item.get("type")
    check(kind is None or isinstance(kind, str), f"{param}.type", "must be a string")
    return str(kind) if kind is not None else None


def string(value: Any, param: str, *, empty: bool = True) -> str:
    ok = isinstance(value, str) and (empty or value != "")
    check(ok, param, "must be a string" if empty else "must be a non-empty string")
    return str(value)


def unrunnable(kind: str, param: str) -> InvalidRequest:
    return InvalidRequest(
        f"Input items of type `{kind[:40]}` cannot be sent to this model: it runs no built-in "
        "tools.",
        param=f"{param}.type",
    )


class ChatConversation:
    """The chat messages being built from items, read in order (a stored conversation's, then
    the request's): `read` them, then take `messages()`."""

    def __init__(self, *, native: bool = False) -> None:
        self.native = native
        self._messages: list[dict[str, Any]] = []
        self._open_assistant: dict[str, Any] | None = None  # still takes tool calls
        self._pending_images: list[dict[str, Any]] = []  # from tool outputs, for a user turn
        self._pending_thinking: list[dict[str, Any]] = []  # for the next assistant message

    def read(
        self, items: Sequence[Any], *, where: str, stored: Mapping[str, dict[str, Any]]
    ) -> None:
        """Adds the messages of `items` (`where` names them in errors: "input", or
        "previous_response_id" for a stored conversation). `stored` maps the ids of the stored
        conversation's items, which an `item_reference` names."""
        for i, item in enumerate(items):
            param = f"{where}[{i}]"
            kind = kind_of(item, param)
            if kind == "item_reference":
                ref = string(item.get("id"), f"{param}.id", empty=False)
                found = stored.get(ref)
                check(found is not None, f"{param}.id", "names no item of this conversation")
                if isinstance(found, dict) and found.get("type") != "item_reference":
                    _item(self, found, kind_of(found, param), param)
                continue
            _item(self, item, kind, param)

    def messages(self) -> list[dict[str, Any]]:
        self._flush_images()
        return self._messages

    def add(self, message: dict[str, Any], *, takes_calls: bool = False) -> None:
        self._flush_images()
        if message.get("role") == "assistant" and self._pending_thinking:
            message["thinking_blocks"], self._pending_thinking = self._pending_thinking, []
        self._messages.append(message)
        self._open_assistant = message if takes_calls else None

    def call(self, call: dict[str, Any]) -> None:
        self._flush_images()
        if self._open_assistant is None:
            self.add({"role": "assistant", "content": None}, takes_calls=True)
        assert self._open_assistant is not None
        self._open_assistant.setdefault("tool_calls", []).append(call)

    def thinking(self, blocks: list[dict[str, Any]]) -> None:
        """Thinking of the assistant message under way (after its text, between its calls),
        else of the next one."""
        if self._open_assistant is not None and blocks:
            self._open_assistant.setdefault("thinking_blocks", []).extend(blocks)
        else:
            self._pending_thinking += blocks

    def tool_output(self, message: dict[str, Any], images: list[dict[str, Any]]) -> None:
        self._messages.append(message)  # right after its call: images wait for the user turn
        self._open_assistant = None
        self._pending_images += images

    def _flush_images(self) -> None:
        if self._pending_images:
            images, self._pending_images = self._pending_images, []
            self._messages.append({"role": "user", "content": images})


def _item(
    conversation: ChatConversation, item: dict[str, Any], kind: str | None, param: str
) -> None:
    if kind is None or kind == "message":
        role = item.get("role")
        check(role in MESSAGE_ROLES, f"{param}.role", f"must be one of {', '.join(MESSAGE_ROLES)}")
        if role == "assistant":
            text = _assistant_text(item.get("content"), f"{param}.content")
            conversation.add({"role": "assistant", "content": text or None}, takes_calls=True)
        else:
            content = _content(item.get("content"), f"{param}.content", conversation.native)
            conversation.add({"role": "user" if role == "user" else "system", "content": content})
    elif kind == "function_call":
        conversation.call(_function_call(item, param))
    elif kind == "function_call_output":
        call_id = string(item.get("call_id"), f"{param}.call_id", empty=False)
        text, images = _tool_output(item.get("output"), f"{param}.output", conversation.native)
        message = {"role": "tool", "tool_call_id": call_id, "content": text}
        conversation.tool_output(message, images)
    elif kind == "reasoning":
        conversation.thinking(thinking_of(item, param))
    elif not conversation.native:
        raise unrunnable(kind, param)


def _function_call(item: dict[str, Any], param: str) -> dict[str, Any]:
    call_id = string(item.get("call_id"), f"{param}.call_id", empty=False)
    name = string(item.get("name"), f"{param}.name", empty=False)
    arguments = string(item.get("arguments", ""), f"{param}.arguments")
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _assistant_text(content: Any, param: str) -> str:
    """An assistant message's text: a string, or its output_text and refusal parts joined."""
    if content is None or isinstance(content, str):
        return content or ""
    check(isinstance(content, list), param, "must be a string or an array of content parts")
    texts = []
    for j, part in enumerate(content):
        where = f"{param}[{j}]"
        kind = kind_of(part, where)
        if kind not in _ASSISTANT_PARTS:
            raise _part_unsupported(str(kind), where, "an assistant message")
        key = "refusal" if kind == "refusal" else "text"
        texts.append(string(part.get(key), f"{where}.{key}"))
    return JOIN.join(text for text in texts if text)


def _part_unsupported(kind: str, param: str, what: str) -> InvalidRequest:
    return InvalidRequest(
        f"Content parts of type `{kind[:40]}` are not supported in {what}.", param=f"{param}.type"
    )


def _content(content: Any, param: str, native: bool) -> str | list[dict[str, Any]]:
    """A user (or system) message's content: a string when it is text only (its parts joined),
    else chat parts (text, image_url, file, input_audio)."""
    if isinstance(content, str):
        return content
    check(isinstance(content, list), param, "must be a string or an array of content parts")
    parts = [
        part
        for j, raw in enumerate(content)
        if (part := input_part(raw, f"{param}[{j}]", native)) is not None
    ]
    if all(part["type"] == "text" for part in parts):
        return JOIN.join(part["text"] for part in parts)
    return parts


def input_part(part: Any, param: str, native: bool) -> dict[str, Any] | None:
    """One input content part as a chat content part (None for an empty text)."""
    kind = kind_of(part, param)
    if kind not in _INPUT_PARTS:
        raise _part_unsupported(str(kind), param, "input messages")
    if kind == "input_text":
        text = string(part.get("text"), f"{param}.text")
        return {"type": "text", "text": text} if text else None
    if kind == "input_image":
        return _image(part, param, native)
    if kind == "input_file":
        return _file(part, param, native)
    audio = part.get("input_audio")
    check(isinstance(audio, dict), f"{param}.input_audio", "must be an object")
    data = string(audio.get("data"), f"{param}.input_audio.data", empty=False)
    audio_format = audio.get("format")
    check(audio_format in ("mp3", "wav"), f"{param}.input_audio.format", 'must be "mp3" or "wav"')
    return {"type": "input_audio", "input_audio": {"data": data, "format": audio_format}}


def _image(part: dict[str, Any], param: str, native: bool) -> dict[str, Any]:
    url, file_id, detail = part.get("image_url"), part.get("file_id"), part.get("detail")
    check(
        detail in (None, "auto", "low", "high"),
        f"{param}.detail",
        'must be "auto", "low" or "high"',
    )
    if url is None and file_id is not None and native:
        return {"type": "text", "text": "[image]"}  # counted as an image would be
    if url is None:
        check(
            file_id is None,
            f"{param}.file_id",
            "names an OpenAI file, which this model cannot read: send the image as `image_url` "
            "(an https URL or a base64 data URL)",
        )
    url = string(url, f"{param}.image_url", empty=False)
    lowered = url[:8].lower()
    ok = lowered.startswith(("https://", "http://")) or lowered.startswith("data:")
    check(ok, f"{param}.image_url", "must be an http(s) URL or a base64 data URL")
    image: dict[str, Any] = {"url": url}
    if detail is not None:
        image["detail"] = detail
    return {"type": "image_url", "image_url": image}


def _file(part: dict[str, Any], param: str, native: bool) -> dict[str, Any]:
    """An input file as a chat `file` part: its base64 data (with its name) or its OpenAI file
    id; a file by URL has no chat form."""
    data, file_id, url = part.get("file_data"), part.get("file_id"), part.get("file_url")
    filename = part.get("filename")
    check(filename is None or isinstance(filename, str), f"{param}.filename", "must be a string")
    if data is None and file_id is None and url is not None and native:
        return {"type": "text", "text": "[file]"}
    if data is None and file_id is None:
        check(
            url is None,
            f"{param}.file_url",
            "cannot be sent to this model: send the file's content as `file_data` "
            "(a base64 data URL) instead",
        )
        raise InvalidRequest(
            f"`{param}` must carry `file_data` or `file_id`.", param=f"{param}.file_data"
        )
    file: dict[str, Any] = {}
    if data is not None:
        file["file_data"] = string(data, f"{param}.file_data", empty=False)
        if filename:
            file["filename"] = filename
    else:
        file["file_id"] = string(file_id, f"{param}.file_id", empty=False)
    return {"type": "file", "file": file}


def _tool_output(output: Any, param: str, native: bool) -> tuple[str, list[dict[str, Any]]]:
    """A function call's output: its text, and its images (for the user turn after it)."""
    if isinstance(output, str):
        return output, []
    check(isinstance(output, list), param, "must be a string or an array of content parts")
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    for j, raw in enumerate(output):
        part = input_part(raw, f"{param}[{j}]", native)
        if part is None:
            continue
        if part["type"] == "text":
            texts.append(part["text"])
        elif part["type"] == "image_url":
            images.append(part)
        else:
            raise _part_unsupported(str(raw.get("type")), f"{param}[{j}]", "a function call output")
    return JOIN.join(texts), images
