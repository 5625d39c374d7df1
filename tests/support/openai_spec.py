"""The gateway's answers checked against OpenAI's own OpenAPI document.

`tests/specs/openai-openapi.yaml` is OpenAI's public OpenAPI 3.1 document, kept as it is
published (see `tests/specs/README.md`). Its component schemas are JSON Schema 2020-12, once
`openapi_to_json_schema` has rewritten its OpenAPI 3.0 leftovers (`nullable`, `discriminator`,
`$recursiveRef`); they are validated with `jsonschema`, every `#/components/schemas/...`
reference resolved through a `referencing` registry that holds the whole document.

- `validate(answer, "CreateChatCompletionResponse")`: one decoded answer against a component.
- `validate_answer(response, schema)`: a whole HTTP answer, checked to be what the document
  says the request's operation answers with that status and media type (`answer_schema`),
  its declared headers included (a 429's `Retry-After`).
- `validate_stream(events, CHAT_CHUNKS)`: every event of a Server-Sent Events stream (as
  `httpx_sse` reads them), in the framing of the route (`StreamShape`).

A mismatch raises `SpecMismatch` (an `AssertionError`) naming the schema, where in the answer
each error is and what it is. Formats (`format: uri`...) are annotations, as JSON Schema 2020-12
has them by default; the document's schemas mostly allow properties they do not list, as the
API adds fields over time, so an answer's extra field passes and a missing or mistyped one fails.

Loading the document (3 MB of YAML) takes a second; its converted JSON is cached under
`.pytest_cache/openai-spec/`, keyed by the hash of the document and of the conversion, and read
in a few milliseconds afterwards.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml
from httpx_sse import ServerSentEvent
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import best_match, relevance
from jsonschema.protocols import Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.support import openapi_to_json_schema
from tests.support.openapi_to_json_schema import DISCRIMINATED, as_json_schema

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "tests" / "specs" / "openai-openapi.yaml"
CACHE_DIR = ROOT / ".pytest_cache" / "openai-spec"
BASE_URI = "urn:openai-openapi"
ERROR_SCHEMA = "ErrorResponse"
SHOWN_ERRORS = 6
SHOWN_ANSWER_CHARS = 1500


class SpecMismatch(AssertionError):
    """An answer that OpenAI's document does not allow."""


def load(path: Path = SPEC_PATH, cache_dir: Path | None = CACHE_DIR) -> dict[str, Any]:
    """The document at `path` as JSON, its schemas converted (`as_json_schema`); from
    `cache_dir` when it holds this very document converted by this very code."""
    raw = path.read_bytes()
    key = hashlib.sha256(raw)
    key.update(Path(openapi_to_json_schema.__file__).read_bytes())
    cached = cache_dir / f"{key.hexdigest()}.json" if cache_dir is not None else None
    if cached is not None:
        try:
            loaded: dict[str, Any] = json.loads(cached.read_bytes())
        except (OSError, ValueError):
            pass
        else:
            return loaded
    parsed = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    # through JSON: the document as its JSON form has it (a YAML date in an example is text)
    converted = as_json_schema(json.loads(json.dumps(parsed, default=str)))
    if cached is not None:
        _store(cached, json.dumps(converted).encode())
    return converted


def _store(path: Path, data: bytes) -> None:
    """Written whole or not at all (two test processes may load at once); older conversions
    are removed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_bytes(data)
        os.replace(partial, path)
        for old in path.parent.glob("*.json"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only checkout converts on every run


@functools.cache
def document() -> dict[str, Any]:
    """OpenAI's document, loaded once per process."""
    return load()


@functools.cache
def registry() -> Registry[Any]:
    """The whole document as one JSON Schema 2020-12 resource, at `BASE_URI`."""
    return Registry().with_resource(BASE_URI, DRAFT202012.create_resource(document()))


def _discriminated(keyword: str) -> Any:
    """`oneOf`/`anyOf` that, where the document has a `discriminator`, checks an object against
    the member its property names: the verdict of trying every member, with that member's own
    errors rather than "not valid under any of the given schemas"."""
    plain = Draft202012Validator.VALIDATORS[keyword]

    def check(
        validator: Any, members: list[Any], instance: Any, schema: dict[str, Any]
    ) -> Iterator[ValidationError]:
        told = schema.get(DISCRIMINATED)
        if (
            not told
            or not validator.is_type(instance, "object")
            or told["property"] not in instance
        ):
            yield from plain(validator, members, instance, schema)
            return
        name, value = told["property"], instance[told["property"]]
        chosen = [
            i for i, values in enumerate(told["values"]) if any(_same(value, v) for v in values)
        ]
        if not chosen:
            known = sorted({json.dumps(v) for values in told["values"] for v in values})
            yield ValidationError(
                f"{json.dumps(value)} is none of the `{name}`s this schema takes: "
                + ", ".join(known),
                path=(name,),
            )
        elif len(chosen) == 1:
            yield from validator.descend(instance, members[chosen[0]], schema_path=chosen[0])
        else:
            yield from plain(validator, [members[i] for i in chosen], instance, schema)

    return check


def _same(value: Any, declared: Any) -> bool:
    return type(value) is type(declared) and bool(value == declared)


OpenApiValidator: Any = validators.extend(
    Draft202012Validator, {"oneOf": _discriminated("oneOf"), "anyOf": _discriminated("anyOf")}
)
"""JSON Schema 2020-12, `discriminator` used where the document has one."""


@functools.cache
def validator(schema: str) -> Validator:
    """The validator of the document's component `schema` (built once per schema)."""
    if schema not in document()["components"]["schemas"]:
        raise KeyError(f"OpenAI's document has no schema `{schema}`")
    checker: Validator = OpenApiValidator(
        {"$ref": f"{BASE_URI}#/components/schemas/{schema}"}, registry=registry()
    )
    return checker


def validate(answer: Any, schema: str, *, where: str = "the answer") -> None:
    """`answer` (decoded JSON) against the document's component `schema`; `SpecMismatch` if it
    does not validate. `where` names the answer in the message (`"event 3 of the stream"`)."""
    _raise_on(list(validator(schema).iter_errors(answer)), answer, f"`{schema}`", where)


def _raise_on(errors: list[ValidationError], answer: Any, schema: str, where: str) -> None:
    if not errors:
        return
    first = best_match(errors)
    rest = [e for e in sorted(errors, key=relevance) if e is not first]
    lines = [_line(error) for error in [first, *rest][:SHOWN_ERRORS]]
    more = len(errors) - len(lines)
    shown = json.dumps(answer, ensure_ascii=False)
    if len(shown) > SHOWN_ANSWER_CHARS:
        shown = shown[:SHOWN_ANSWER_CHARS] + "…"
    raise SpecMismatch(
        f"{where} does not match OpenAI's {schema}:\n"
        + "\n".join(lines)
        + (f"\n  ... and {more} more" if more > 0 else "")
        + f"\n{where}: {shown}"
    )


def _line(error: ValidationError) -> str:
    line = f"  at {error.json_path}: {error.message}"
    if len(line) > 400:
        line = line[:400] + "…"
    return line


# -- operations: which schema the document names for an answer --------------------------------


def _prefix() -> str:
    """The path of the document's server URL (`/v1`): its paths are relative to it."""
    return urlsplit(document()["servers"][0]["url"]).path.rstrip("/")


def operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The document's path template and operation object for a request to the gateway's `path`
    (`/v1/models/gpt-4o` → `/models/{model}`); a literal segment wins over a template's."""
    prefix = _prefix()
    if not path.startswith(prefix + "/"):
        raise LookupError(f"{path} is not under OpenAI's {prefix}")
    segments = path.removeprefix(prefix).strip("/").split("/")
    matches: list[tuple[int, str]] = []
    for template in document()["paths"]:
        parts = template.strip("/").split("/")
        if len(parts) == len(segments) and all(
            p == s or (p.startswith("{") and p.endswith("}") and s)
            for p, s in zip(parts, segments, strict=True)
        ):
            matches.append((sum(p.startswith("{") for p in parts), template))
    for _, template in sorted(matches):
        found = document()["paths"][template].get(method.lower())
        if isinstance(found, dict):
            return template, found
    raise LookupError(f"OpenAI's document has no operation {method.upper()} {path}")


def declared_answer(method: str, path: str, status: int) -> dict[str, Any] | None:
    """The document's response object for `status` of the operation (exact, `4XX`, `default`),
    its `$ref` followed; None when it declares none."""
    _, found = operation(method, path)
    answers = found.get("responses") or {}
    for key in (str(status), f"{status // 100}XX", "default"):
        if key in answers:
            answer: dict[str, Any] = answers[key]
            ref = answer.get("$ref")
            if isinstance(ref, str):
                answer = document()["components"]["responses"][ref.rsplit("/", 1)[-1]]
            return answer
    return None


def answer_schema(method: str, path: str, status: int, media_type: str) -> str:
    """The component the document names for the answer of `method path` with `status` as
    `media_type`. An error status is OpenAI's error envelope, `ErrorResponse`: the document
    declares only some (every 429, as that), and the API answers every error with it."""
    if status >= 400:
        if media_type != "application/json":
            raise SpecMismatch(f"an error of {method} {path} is {media_type}, not JSON")
        return ERROR_SCHEMA
    declared = declared_answer(method, path, status)
    if declared is None:
        raise SpecMismatch(f"OpenAI's {method.upper()} {path} never answers {status}")
    content = declared.get("content") or {}
    if media_type not in content:
        raise SpecMismatch(
            f"OpenAI's {method.upper()} {path} answers {status} as "
            f"{' or '.join(content) or 'no body'}, not {media_type}"
        )
    ref: str = content[media_type]["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


def validate_answer(response: httpx.Response, schema: str) -> Any:
    """A whole answer of the gateway: `schema` must be the one the document names for the
    request's operation, the answer's status and media type (`answer_schema`), the body must
    validate against it, and each header the document declares for that answer against its
    schema. Returns the decoded body."""
    request = response.request
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    named = answer_schema(request.method, request.url.path, response.status_code, media_type)
    if named != schema:
        raise SpecMismatch(
            f"OpenAI's document answers {request.method} {request.url.path} "
            f"{response.status_code} with `{named}`, not `{schema}`"
        )
    body = response.json()
    validate(body, schema)
    try:
        declared = declared_answer(request.method, request.url.path, response.status_code) or {}
    except LookupError:  # an error of a path OpenAI does not serve (its 404): no headers declared
        if response.status_code < 400:
            raise
        declared = {}
    for name, header in (declared.get("headers") or {}).items():
        value = response.headers.get(name)
        if value is None:
            if header.get("required"):
                raise SpecMismatch(f"the answer has no `{name}` header")
            continue
        checker = OpenApiValidator(header.get("schema") or {}, registry=registry())
        _raise_on(
            list(checker.iter_errors(_header_value(value, header.get("schema") or {}))),
            value,
            "declared header",
            f"the `{name}` header",
        )
    return body


def _header_value(text: str, schema: dict[str, Any]) -> Any:
    """A header's text as its schema's type: an `integer` header must be one."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text
    return text


# -- streams ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamShape:
    """How an OpenAI route streams: each event's `data` is a JSON object of `schema`;
    `done`: the stream ends with `data: [DONE]` (Chat Completions, legacy Completions);
    `named`: each event's `event:` field is its data's `type` (the Responses API).
    On an unnamed stream an upstream failure arrives as an event carrying OpenAI's error
    envelope (`ErrorResponse`), after which only `[DONE]` may come."""

    schema: str
    done: bool
    named: bool


CHAT_CHUNKS = StreamShape("CreateChatCompletionStreamResponse", done=True, named=False)
COMPLETION_CHUNKS = StreamShape("CreateCompletionResponse", done=True, named=False)
RESPONSE_EVENTS = StreamShape("ResponseStreamEvent", done=False, named=True)


def validate_stream(
    events: Iterable[ServerSentEvent], shape: StreamShape = CHAT_CHUNKS
) -> list[dict[str, Any]]:
    """Every event of a stream against `shape`, in order; the decoded payloads (an error
    envelope included, last). `SpecMismatch` names the event that failed."""
    payloads: list[dict[str, Any]] = []
    done = failed = False
    for number, event in enumerate(events, start=1):
        where = f"event {number} of the stream"
        if done:
            raise SpecMismatch(f"{where} comes after `data: [DONE]`: {event.data!r}")
        if shape.done and event.data == "[DONE]":
            done = True
            continue
        if failed:
            raise SpecMismatch(f"{where} comes after the stream's error: {event.data!r}")
        try:
            data = json.loads(event.data)
        except ValueError as exc:
            raise SpecMismatch(f"{where} is not JSON: {event.data!r}") from exc
        if not shape.named and isinstance(data, dict) and "error" in data:
            validate(data, ERROR_SCHEMA, where=where)
            failed = True
        else:
            validate(data, shape.schema, where=where)
            kind = data.get("type") if shape.named else "message"  # `message`: no `event:`
            if event.event != kind:
                raise SpecMismatch(f"{where} is named {event.event!r}, its data says {kind!r}")
        payloads.append(data)
    if not payloads:
        raise SpecMismatch("the stream has no event")
    if shape.done and not done and not failed:
        raise SpecMismatch("the stream ended without `data: [DONE]`")
    return payloads
