"""Gemini `contents` and `systemInstruction` → OpenAI chat messages, as pure functions (part of
`translate_request`, which says how each turn and part becomes a message). Only
`InvalidRequest` leaves here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from domains.providers.errors import InvalidRequest
from interfaces.http.gemini.fields import array, check, field, obj, string

_AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mp3": "mp3", "audio/mpeg": "mp3"}
_GEMINI_PARTS = ("executableCode", "codeExecutionResult", "toolCall", "toolResponse")
_encode = msgspec.json.Encoder().encode


def only_gemini(what: str) -> str:
    """The end of a refusal of what only Gemini models understand."""
    return f"{what}, which only Gemini models understand"


def json_text(value: Any) -> str:
    try:
        return _encode(value).decode()
    except (TypeError, ValueError, OverflowError, RecursionError, msgspec.EncodeError):
        return "{}"


def system_messages(instruction: Any, lenient: bool) -> list[dict[str, Any]]:
    """`systemInstruction` as one system message of its text parts, joined with a newline
    (none when it holds no text)."""
    if instruction is None:
        return []
    content = obj(instruction, "systemInstruction")
    texts = []
    for j, item in enumerate(array(field(content, "parts"), "systemInstruction.parts")):
        where = f"systemInstruction.parts[{j}]"
        part = obj(item, where)
        text = field(part, "text")
        if text is not None:
            texts.append(string(text, f"{where}.text"))
        elif not lenient:
            raise InvalidRequest(f"`{where}` must be a text part.", param=where)
    text = "\n".join(text for text in texts if text)
    return [{"role": "system", "content": text}] if text else []


class Conversation:
    """`contents` as chat messages (`messages`), turn by turn, keeping the tool calls of the
    latest model turn that await their responses. `lenient`: what only Gemini understands is
    left out (or kept as its JSON text) rather than refused."""

    def __init__(self, lenient: bool) -> None:
        self.lenient = lenient
        self.pending: list[tuple[str, str]] = []  # (id, name) of unanswered calls

    def messages(self, contents: Any) -> list[dict[str, Any]]:
        turns = array(contents, "contents")
        check(bool(turns), "contents", "must be a non-empty array")
        out: list[dict[str, Any]] = []
        for i, turn in enumerate(turns):
            where = f"contents[{i}]"
            content = obj(turn, where)
            role = field(content, "role") or "user"
            ok = role in ("user", "model", "function", "tool")
            check(ok, f"{where}.role", 'must be "user" or "model"')
            parts = array(field(content, "parts"), f"{where}.parts")
            if role == "model":
                out.extend(self._model_turn(i, parts, f"{where}.parts"))
            else:
                out.extend(self._user_turn(parts, f"{where}.parts"))
        if not out:  # e.g. only thought parts: nothing a model could answer
            raise InvalidRequest("`contents` holds nothing to answer.", param="contents")
        return out

    def _unsupported(self, kind: str, where: str) -> InvalidRequest:
        return InvalidRequest(f"`{where}.{kind}` {only_gemini('is a part')}.", param=where)

    def _user_turn(self, parts: list[Any], where: str) -> list[dict[str, Any]]:
        tools: list[dict[str, Any]] = []
        pieces: list[dict[str, Any]] = []
        for j, item in enumerate(parts):
            at = f"{where}[{j}]"
            part = obj(item, at)
            if field(part, "thought") is True:
                continue
            if (text := field(part, "text")) is not None:
                if string(text, f"{at}.text"):
                    pieces.append({"type": "text", "text": text})
            elif (inline := field(part, "inlineData")) is not None:
                pieces.extend(self._inline(obj(inline, f"{at}.inlineData"), f"{at}.inlineData"))
            elif (file := field(part, "fileData")) is not None:
                pieces.extend(self._file(obj(file, f"{at}.fileData"), f"{at}.fileData"))
            elif (response := field(part, "functionResponse")) is not None:
                tools.append(self._response(obj(response, f"{at}.functionResponse"), at))
            elif field(part, "functionCall") is not None:
                raise InvalidRequest(
                    f"`{at}.functionCall` may only be in a `model` turn.", param=at
                )
            else:
                pieces.extend(self._other(part, at))
        if not pieces:
            return tools
        if all(piece["type"] == "text" for piece in pieces) and len(pieces) == 1:
            return [*tools, {"role": "user", "content": pieces[0]["text"]}]
        return [*tools, {"role": "user", "content": pieces}]

    def _model_turn(self, turn: int, parts: list[Any], where: str) -> list[dict[str, Any]]:
        texts: list[str] = []
        calls: list[dict[str, Any]] = []
        for j, item in enumerate(parts):
            at = f"{where}[{j}]"
            part = obj(item, at)
            if field(part, "thought") is True:
                continue
            if (text := field(part, "text")) is not None:
                texts.append(string(text, f"{at}.text"))
            elif (call := field(part, "functionCall")) is not None:
                calls.append(self._call(obj(call, f"{at}.functionCall"), turn, j, at))
            elif self.lenient:
                texts.extend(piece["text"] for piece in self._other(part, at))
            else:
                raise InvalidRequest(
                    f"`{at}` must be a text or functionCall part in a `model` turn.", param=at
                )
        self.pending = [(call["id"], call["function"]["name"]) for call in calls]
        text = "".join(texts)
        if not text and not calls:
            return []
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        return [{**message, "tool_calls": calls} if calls else message]

    def _call(self, call: Mapping[str, Any], turn: int, part: int, at: str) -> dict[str, Any]:
        name = string(field(call, "name"), f"{at}.functionCall.name", empty=False)
        args = obj(field(call, "args"), f"{at}.functionCall.args")
        given = field(call, "id")
        call_id = given if isinstance(given, str) and given else f"call_{turn}_{part}"
        arguments = json_text(dict(args))
        return {
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }

    def _response(self, response: Mapping[str, Any], at: str) -> dict[str, Any]:
        where = f"{at}.functionResponse"
        name = string(field(response, "name"), f"{where}.name", empty=False)
        result = obj(field(response, "response"), f"{where}.response")
        if not self.lenient:
            parts = field(response, "parts")
            check(not parts, f"{where}.parts", only_gemini("carries media"))
        given = field(response, "id")
        call_id = given if isinstance(given, str) and given else None
        for k, (pending_id, pending_name) in enumerate(self.pending):
            if pending_id == call_id or (call_id is None and pending_name == name):
                call_id = pending_id
                del self.pending[k]
                break
        return {
            "role": "tool",
            "tool_call_id": call_id or f"call_{name}",
            "content": json_text(dict(result)),
        }

    def _inline(self, blob: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
        mime = string(field(blob, "mimeType"), f"{where}.mimeType", empty=False).lower()
        data = string(field(blob, "data"), f"{where}.data")
        if mime.startswith("image/"):
            return [{"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}]
        if mime in _AUDIO_FORMATS:
            audio = {"data": data, "format": _AUDIO_FORMATS[mime]}
            return [{"type": "input_audio", "input_audio": audio}]
        if mime == "application/pdf":
            document = {"filename": "document.pdf", "file_data": f"data:{mime};base64,{data}"}
            return [{"type": "file", "file": document}]
        if self.lenient:
            return [{"type": "text", "text": f"[{mime[:80]}: {len(data)} base64 characters]"}]
        raise InvalidRequest(
            f"`{where}.mimeType` must be an image, audio/wav, audio/mp3 or application/pdf for "
            "this model.",
            param=f"{where}.mimeType",
        )

    def _file(self, file: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
        uri = string(field(file, "fileUri"), f"{where}.fileUri", empty=False)
        mime = field(file, "mimeType")
        mime = string(mime, f"{where}.mimeType").lower() if mime is not None else ""
        web = uri[:8].lower().startswith(("http://", "https://"))
        if web and (mime.startswith("image/") or not mime):
            return [{"type": "image_url", "image_url": {"url": uri}}]
        if self.lenient:
            return [{"type": "text", "text": f"[{mime[:80]} file]"}]
        raise InvalidRequest(
            f"`{where}` {only_gemini('names a file')} (other models take images by http(s) URL).",
            param=f"{where}.fileUri",
        )

    def _other(self, part: Mapping[str, Any], at: str) -> list[dict[str, Any]]:
        """A part of a kind only Gemini understands (executable code...), or of none at all."""
        kind = next((key for key in _GEMINI_PARTS if field(part, key) is not None), None)
        if self.lenient:
            return [{"type": "text", "text": json_text(dict(part))}] if kind else []
        if kind is not None:
            raise self._unsupported(kind, at)
        raise InvalidRequest(
            f"`{at}` must hold one of text, inlineData, fileData, functionCall or "
            "functionResponse.",
            param=at,
        )
