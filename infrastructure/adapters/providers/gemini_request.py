"""OpenAI chat / embeddings requests → Gemini API v1beta request bodies, as pure functions.

Public names are re-exported by `gemini_wire`; import them from there. Anything that cannot be
said to Gemini raises `InvalidRequest` naming the offending parameter (a 400 for the client).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from domains.providers.errors import InvalidRequest

MAX_STOP_SEQUENCES = 5
MAX_SCHEMA_DEPTH = 48
MAX_SCHEMA_NODES = 5000
# Gemini 3 models refuse a replayed functionCall part without its thought signature. An OpenAI
# client never sends it back, so every replayed tool call turn carries the sentinel Google
# documents for history it did not produce itself.
THOUGHT_SIGNATURE_SENTINEL = "skip_thought_signature_validator"

_SYSTEM_ROLES = ("system", "developer")
_FORMATS: dict[Any, tuple[str, ...]] = {
    "STRING": ("enum", "date-time"),
    "INTEGER": ("int32", "int64"),
    "NUMBER": ("float", "double"),
}
_TYPES = {
    "string": "STRING",
    "integer": "INTEGER",
    "number": "NUMBER",
    "boolean": "BOOLEAN",
    "array": "ARRAY",
    "object": "OBJECT",
}
_PLAIN_KEYS = ("minItems", "maxItems", "minimum", "maximum")


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --- images ----------------------------------------------------------------------------------


def _image_url_of(part: Mapping[str, Any]) -> Any:
    image = part.get("image_url")
    return image.get("url") if isinstance(image, Mapping) else image


def _is_http(url: str) -> bool:
    return url[:8].lower().startswith(("http://", "https://"))


def http_image_urls(body: dict[str, Any]) -> list[str]:
    """The http(s) image URLs of the messages, in order, each once: the adapter downloads them
    before `chat_request`, since Gemini takes image bytes inline. Never raises."""
    messages = body.get("messages")
    urls: dict[str, None] = {}
    for message in messages if isinstance(messages, list) else ():
        content = _obj(message).get("content")
        for part in content if isinstance(content, list) else ():
            if isinstance(part, Mapping) and part.get("type") == "image_url":
                url = _image_url_of(part)
                if isinstance(url, str) and _is_http(url):
                    urls[url] = None
    return list(urls)


def _data_url(url: str, param: str) -> dict[str, Any]:
    header, comma, data = url[5:].partition(",")
    mime, _, encoding = header.partition(";")
    if not comma or encoding.lower() != "base64" or not mime or not data:
        raise InvalidRequest(
            "A data URL must look like `data:<mime type>;base64,<data>`.", param=param
        )
    return {"inlineData": {"mimeType": mime.strip().lower(), "data": data.strip()}}


def _image_part(
    part: Mapping[str, Any], fetched: Mapping[str, tuple[str, str]], param: str
) -> dict[str, Any]:
    url = _image_url_of(part)
    param = f"{param}.image_url"
    if not isinstance(url, str):
        raise InvalidRequest("`image_url.url` must be a string.", param=param)
    if url[:5].lower() == "data:":
        return _data_url(url, param)
    if _is_http(url):
        if url not in fetched:
            raise InvalidRequest(f"The image at `{url[:200]}` could not be fetched.", param=param)
        mime, data = fetched[url]
        return {"inlineData": {"mimeType": mime, "data": data}}
    raise InvalidRequest("An image must be an http(s) URL or a base64 data URL.", param=param)


# --- message contents ------------------------------------------------------------------------


def _text_of(content: Any, param: str, *, role: str) -> str:
    """The text of a content that may only hold text (system, tool, assistant)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidRequest("`content` must be a string or an array of parts.", param=param)
    texts = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, Mapping) else None
        key = "refusal" if kind == "refusal" else "text"
        if kind not in ("text", "refusal") or not isinstance(part.get(key), str):
            raise InvalidRequest(
                f"A `{role}` message may only hold text parts.", param=f"{param}[{j}]"
            )
        texts.append(part[key])
    return "".join(texts)


def _user_parts(
    content: Any, fetched: Mapping[str, tuple[str, str]], param: str
) -> list[dict[str, Any]]:
    if content is None or isinstance(content, str):
        return [{"text": content}] if content else []
    if not isinstance(content, list):
        raise InvalidRequest("`content` must be a string or an array of parts.", param=param)
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        at = f"{param}[{j}]"
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text" and isinstance(part.get("text"), str):
            if part["text"]:
                parts.append({"text": part["text"]})
        elif kind == "image_url":
            parts.append(_image_part(part, fetched, at))
        else:
            raise InvalidRequest(
                f"Content parts of type `{str(kind)[:40]}` cannot be sent to this model.", param=at
            )
    return parts


def _arguments(raw: Any, param: str) -> dict[str, Any]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str):
        raise InvalidRequest("Tool call `arguments` must be a JSON string.", param=param)
    try:
        args = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidRequest("Tool call `arguments` is not valid JSON.", param=param) from None
    if not isinstance(args, dict):
        raise InvalidRequest("Tool call `arguments` must be a JSON object.", param=param)
    return args


def _call_parts(
    message: Mapping[str, Any], names: dict[str, str], param: str
) -> list[dict[str, Any]]:
    calls = message.get("tool_calls")
    legacy = message.get("function_call")
    if calls is None:
        calls = [{"type": "function", "function": legacy}] if legacy is not None else []
    if not isinstance(calls, list):
        raise InvalidRequest("`tool_calls` must be an array.", param=f"{param}.tool_calls")
    parts: list[dict[str, Any]] = []
    for j, raw in enumerate(calls):
        at = f"{param}.tool_calls[{j}]"
        call = _obj(raw)
        function = _obj(call.get("function"))
        name = function.get("name")
        if not isinstance(name, str) or not name or call.get("type", "function") != "function":
            raise InvalidRequest("A tool call must be a function with a `name`.", param=at)
        args = _arguments(function.get("arguments"), f"{at}.function.arguments")
        call_id = call.get("id")
        if isinstance(call_id, str):
            names[call_id] = name
        parts.append({"functionCall": {"name": name, "args": args}})
    if parts:
        parts[0]["thoughtSignature"] = THOUGHT_SIGNATURE_SENTINEL
    return parts


def _response_part(name: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = None
    response = value if isinstance(value, dict) else {"content": text}
    return {"functionResponse": {"name": name, "response": response}}


def _contents(
    messages: list[Any], fetched: Mapping[str, tuple[str, str]]
) -> tuple[list[str], list[dict[str, Any]]]:
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call_id → function name
    for i, message in enumerate(messages):
        at = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise InvalidRequest("Each message must be an object.", param=at)
        role, content = message.get("role"), message.get("content")
        if role in _SYSTEM_ROLES:
            system.append(_text_of(content, f"{at}.content", role=str(role)))
            continue
        if role == "user":
            turn_role, parts = "user", _user_parts(content, fetched, f"{at}.content")
        elif role == "assistant":
            text = _text_of(content, f"{at}.content", role="assistant")
            turn_role = "model"
            parts = ([{"text": text}] if text else []) + _call_parts(message, names, at)
        elif role in ("tool", "function"):
            key = "tool_call_id" if role == "tool" else "name"
            ref = message.get(key)
            name = names.get(ref) if role == "tool" and isinstance(ref, str) else ref
            if not isinstance(name, str) or not name:
                raise InvalidRequest(
                    f"`{key}` does not match a tool call of an earlier assistant message.",
                    param=f"{at}.{key}",
                )
            text = _text_of(content, f"{at}.content", role=str(role))
            turn_role, parts = "user", [_response_part(name, text)]
        else:
            raise InvalidRequest(f"Unknown message role `{str(role)[:40]}`.", param=f"{at}.role")
        if not parts:
            continue
        if turns and turns[-1]["role"] == turn_role:
            turns[-1]["parts"].extend(parts)
        else:
            turns.append({"role": turn_role, "parts": parts})
    return system, turns


# --- JSON Schema → Gemini's OpenAPI subset ---------------------------------------------------


class _SchemaConverter:
    """Keeps type/properties/required/items/enum/description/nullable/format (where Gemini
    accepts it)/anyOf/min-max; inlines local `$ref`s; drops the rest."""

    def __init__(self, root: Mapping[str, Any], param: str) -> None:
        self.param = param
        defs: dict[str, Any] = {}
        for key in ("$defs", "definitions"):
            found = root.get(key)
            if isinstance(found, Mapping):
                defs.update({f"#/{key}/{name}": value for name, value in found.items()})
        self.defs = defs
        self.budget = MAX_SCHEMA_NODES

    def fail(self, why: str) -> InvalidRequest:
        return InvalidRequest(f"Unsupported JSON schema: {why}.", param=self.param)

    def convert(self, schema: Any, depth: int = 0, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        if depth > MAX_SCHEMA_DEPTH:
            raise self.fail("nested too deeply")
        if isinstance(schema, bool):
            return {}
        if not isinstance(schema, Mapping):
            raise self.fail("a schema must be an object")
        ref = schema.get("$ref")
        if ref is not None:
            if not isinstance(ref, str) or ref not in self.defs:
                raise self.fail(f"unresolvable `$ref` {str(ref)[:80]}")
            if ref in seen:
                raise self.fail(f"recursive `$ref` {ref[:80]}")
            return self.convert(self.defs[ref], depth + 1, (*seen, ref))
        self.budget -= 1
        if self.budget < 0:
            raise self.fail("too large")
        out: dict[str, Any] = {}
        all_of = schema.get("allOf")
        for part in all_of if isinstance(all_of, list) else ():
            merged = self.convert(part, depth + 1, seen)
            out.update({k: v for k, v in merged.items() if k not in ("properties", "required")})
            out.setdefault("properties", {}).update(merged.get("properties", {}))
            out.setdefault("required", []).extend(merged.get("required", []))
        self._type(schema.get("type"), out)
        description = schema.get("description")
        if isinstance(description, str) and description:
            out["description"] = description
        if schema.get("nullable") is True:
            out["nullable"] = True
        self._enum(schema, out)
        kind = out.get("type")
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS.get(kind, ()):
            out["format"] = fmt
        self._object(schema, out, depth, seen)
        items = schema.get("items")
        if isinstance(items, list):
            out["items"] = {"anyOf": [self.convert(item, depth + 1, seen) for item in items]}
        elif items is not None:
            out["items"] = self.convert(items, depth + 1, seen)
        variants = schema.get("anyOf", schema.get("oneOf"))
        if isinstance(variants, list) and variants:
            self._any_of([self.convert(v, depth + 1, seen) for v in variants], out)
        for key in _PLAIN_KEYS:
            if _is_number(schema.get(key)):
                out[key] = schema[key]
        if not out.get("properties"):
            out.pop("properties", None)
        if out.get("required"):
            out["required"] = list(dict.fromkeys(out["required"]))
        else:
            out.pop("required", None)
        return out

    def _type(self, raw: Any, out: dict[str, Any]) -> None:
        kinds = raw if isinstance(raw, list) else [] if raw is None else [raw]
        if not all(isinstance(k, str) and (k in _TYPES or k == "null") for k in kinds):
            raise self.fail(f"unknown `type` {str(raw)[:80]}")
        if "null" in kinds:
            out["nullable"] = True
        real = [_TYPES[k] for k in kinds if k != "null"]
        if len(real) == 1:
            out["type"] = real[0]
        elif real:
            out["anyOf"] = [{"type": k} for k in real]

    def _enum(self, schema: Mapping[str, Any], out: dict[str, Any]) -> None:
        values = [schema["const"]] if "const" in schema else schema.get("enum")
        if not isinstance(values, list):
            return
        if None in values:
            out["nullable"] = True
        kept = [value for value in values if value is not None]
        if not kept:
            return
        if out.get("type", "STRING") == "STRING" and all(isinstance(v, str) for v in kept):
            out.update(type="STRING", format="enum", enum=kept)
            return
        try:  # Gemini takes enums of strings only: other values are told in the description
            note = "Allowed values: " + ", ".join(json.dumps(value) for value in kept) + "."
        except (ValueError, TypeError, RecursionError):
            raise self.fail("`enum` values must be JSON values") from None
        out["description"] = f"{out['description']} {note}" if out.get("description") else note

    def _object(
        self, schema: Mapping[str, Any], out: dict[str, Any], depth: int, seen: tuple[str, ...]
    ) -> None:
        properties = schema.get("properties")
        if properties is None:
            return
        if not isinstance(properties, Mapping):
            raise self.fail("`properties` must be an object")
        converted = {
            str(name): self.convert(value, depth + 1, seen) for name, value in properties.items()
        }
        out.setdefault("properties", {}).update(converted)
        out.setdefault("type", "OBJECT")
        required = schema.get("required")
        if isinstance(required, list):
            out.setdefault("required", []).extend(
                name for name in required if isinstance(name, str) and name in converted
            )

    @staticmethod
    def _any_of(variants: list[dict[str, Any]], out: dict[str, Any]) -> None:
        kept = [v for v in variants if v != {"nullable": True}]
        if len(kept) < len(variants):
            out["nullable"] = True
        if len(kept) == 1:
            out.update({k: v for k, v in kept[0].items() if k not in out})
        elif kept:
            out["anyOf"] = kept


def gemini_schema(schema: Any, param: str) -> dict[str, Any]:
    """A JSON Schema, as the OpenAPI 3.0 subset Gemini understands (best effort)."""
    if not isinstance(schema, Mapping):
        raise InvalidRequest("A JSON schema must be an object.", param=param)
    return _SchemaConverter(schema, param).convert(schema)


# --- generation config, tools ----------------------------------------------------------------


def _number(body: Mapping[str, Any], key: str, *, integer: bool = False) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if not (_is_int(value) if integer else _is_number(value)):
        raise InvalidRequest(
            f"`{key}` must be {'an integer' if integer else 'a number'}.", param=key
        )
    return value


def _generation_config(body: Mapping[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key, field in (
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ):
        if (value := _number(body, key)) is not None:
            config[field] = value
    for key, field in (
        ("max_tokens", "maxOutputTokens"),
        ("max_completion_tokens", "maxOutputTokens"),  # the newer name wins
        ("n", "candidateCount"),
        ("seed", "seed"),
        ("top_k", "topK"),  # not OpenAI's, but sent by clients written for vLLM & co
    ):
        if (value := _number(body, key, integer=True)) is not None:
            config[field] = value
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise InvalidRequest("`stop` must be a string or an array of strings.", param="stop")
        if len(stops) > MAX_STOP_SEQUENCES:
            raise InvalidRequest(
                f"This model takes at most {MAX_STOP_SEQUENCES} stop sequences.", param="stop"
            )
        if stops:
            config["stopSequences"] = stops
    fmt = body.get("response_format")
    if fmt is not None:
        kind = _obj(fmt).get("type")
        if kind in ("json_object", "json_schema"):
            config["responseMimeType"] = "application/json"
        if kind == "json_schema":
            schema = _obj(_obj(fmt).get("json_schema")).get("schema")
            if schema is not None:
                param = "response_format.json_schema.schema"
                config["responseSchema"] = gemini_schema(schema, param)
        elif kind not in ("text", "json_object"):
            raise InvalidRequest(
                "`response_format.type` must be text, json_object or json_schema.",
                param="response_format",
            )
    return config


def _tools(tools: Any) -> list[dict[str, Any]]:
    if tools is None or tools == []:
        return []
    if not isinstance(tools, list):
        raise InvalidRequest("`tools` must be an array.", param="tools")
    declarations = []
    for i, tool in enumerate(tools):
        at = f"tools[{i}]"
        function = _obj(_obj(tool).get("function"))
        name = function.get("name")
        if not isinstance(name, str) or not name or _obj(tool).get("type") != "function":
            raise InvalidRequest("Only function tools with a `name` are supported.", param=at)
        declaration: dict[str, Any] = {"name": name}
        description = function.get("description")
        if isinstance(description, str) and description:
            declaration["description"] = description
        parameters = function.get("parameters")
        if parameters is not None:
            converted = gemini_schema(parameters, f"{at}.function.parameters")
            if converted.get("properties") or converted.get("type") not in ("OBJECT", None):
                declaration["parameters"] = converted  # Gemini refuses an empty OBJECT
        declarations.append(declaration)
    return [{"functionDeclarations": declarations}]


def _tool_config(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    modes = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
    if isinstance(choice, str) and choice in modes:
        return {"functionCallingConfig": {"mode": modes[choice]}}
    name = _obj(_obj(choice).get("function")).get("name")
    if _obj(choice).get("type") != "function" or not isinstance(name, str) or not name:
        raise InvalidRequest(
            "`tool_choice` must be auto, none, required or a named function.", param="tool_choice"
        )
    return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}


def chat_request(
    body: dict[str, Any], *, fetched_images: Mapping[str, tuple[str, str]]
) -> dict[str, Any]:
    """An OpenAI chat request as a Gemini GenerateContentRequest (the model goes in the URL).

    `fetched_images` maps each of `http_image_urls(body)` to its (mime type, base64 data).
    """
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("`messages` must be a non-empty array.", param="messages")
    system, contents = _contents(messages, fetched_images)
    system_text = "\n\n".join(text for text in system if text)
    out: dict[str, Any] = {"contents": contents}
    if system_text and contents:
        out["systemInstruction"] = {"parts": [{"text": system_text}]}
    elif system_text:  # Gemini needs a turn: a conversation of instructions only becomes one
        out["contents"] = [{"role": "user", "parts": [{"text": system_text}]}]
    elif not contents:
        raise InvalidRequest("The messages hold no content to send.", param="messages")
    config = _generation_config(body)
    if config:
        out["generationConfig"] = config
    tools = _tools(body.get("tools"))
    tool_config = _tool_config(body.get("tool_choice"))
    if tools:
        out["tools"] = tools
        if tool_config is not None:
            out["toolConfig"] = tool_config
    return out


# --- embeddings ------------------------------------------------------------------------------


def embeddings_request(body: dict[str, Any], upstream_model: str) -> dict[str, Any]:
    """An OpenAI embeddings request as a Gemini batchEmbedContents body (at most 100 requests
    per upstream call: the adapter splits `requests` if needed)."""
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts:
        raise InvalidRequest("`input` must be a string or a non-empty array.", param="input")
    if not all(isinstance(text, str) for text in texts):
        raise InvalidRequest(
            "This model embeds text only: `input` must be a string or an array of strings "
            "(not token ids).",
            param="input",
        )
    if not all(texts):
        raise InvalidRequest("`input` must not contain empty strings.", param="input")
    dimensions = _number(body, "dimensions", integer=True)
    if dimensions is not None and dimensions < 1:
        raise InvalidRequest("`dimensions` must be at least 1.", param="dimensions")
    model = upstream_model if upstream_model.startswith("models/") else f"models/{upstream_model}"
    requests = []
    for text in texts:
        request: dict[str, Any] = {"model": model, "content": {"parts": [{"text": text}]}}
        if dimensions is not None:
            request["outputDimensionality"] = dimensions
        requests.append(request)
    return {"requests": requests}
