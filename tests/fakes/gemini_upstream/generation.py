"""`generateContent`, `streamGenerateContent` and `countTokens`: a request planned into its
candidates, answered whole or streamed (server-sent events or one JSON array)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from tests.fakes.gemini_upstream.contents import (
    GenPlan,
    Usage,
    check_turns,
    declared_functions,
    function_schema,
    new_response_id,
    part_text,
    part_tokens,
    validate_contents,
    validate_generation_config,
)
from tests.fakes.gemini_upstream.errors import (
    bullets,
    check_method,
    invalid_argument,
    json_response,
    pretty_json,
    special_model,
)
from tests.fakes.gemini_upstream.models import (
    ARRAY_SEP,
    BASE_HEADERS,
    CACHED_CONTENT_TOKENS,
    EVERY_TOKEN_CACHED,
    EVERY_TOKEN_THOUGHTS,
    JSON_CT,
    MODEL_BLOCKED_PROMPT,
    MODEL_CACHED,
    MODEL_EVERY_TOKEN,
    MODEL_RUNAWAY,
    MODEL_STALL_STREAM,
    RUNAWAY_PIECE_WORDS,
    RUNAWAY_PIECES,
    SSE_CT,
    SSE_SEP,
    WITHHELD,
    encode,
)
from tests.fakes.gemini_upstream.proto_json import ProtoJson
from tests.fakes.gemini_upstream.thinking import read_thinking, thought_text
from tests.fakes.schema_sample import sample
from tests.fakes.server import (
    SLOW_SECONDS,
    chat_pieces,
    count_words,
)


def _plan_generate(request: dict[str, Any], model: str) -> GenPlan:
    """Validate a parsed GenerateContentRequest and decide the reply."""
    violations: list[tuple[str, str]] = []
    contents: list[dict[str, Any]] = request.get("contents", [])
    if not contents:
        violations.append(("contents", "contents is not specified"))
    system = request.get("systemInstruction")
    validate_contents(
        [(f"contents[{i}]", c) for i, c in enumerate(contents)]
        + ([("system_instruction", system)] if system is not None else []),
        violations,
    )
    config: dict[str, Any] = request.get("generationConfig", {})
    validate_generation_config(config, violations)
    thinking = read_thinking(config, model, violations)
    declared = declared_functions(request.get("tools", []), violations)
    calling: dict[str, Any] = request.get("toolConfig", {}).get("functionCallingConfig", {})
    mode = calling.get("mode", "MODE_UNSPECIFIED")
    allowed: list[str] = calling.get("allowedFunctionNames", [])
    if allowed and mode not in ("ANY", "VALIDATED"):
        violations.append(
            (
                "tool_config.function_calling_config.allowed_function_names",
                "allowed_function_names may only be set when mode is ANY or VALIDATED.",
            )
        )
    for i, name in enumerate(allowed):
        if declared and name not in declared:
            violations.append(
                (
                    f"tool_config.function_calling_config.allowed_function_names[{i}]",
                    f"function {name!r} is not declared in tools.",
                )
            )
    for i, setting in enumerate(request.get("safetySettings", [])):
        if "category" not in setting or "threshold" not in setting:
            violations.append((f"safety_settings[{i}]", "category and threshold are required."))
    if violations:
        raise bullets("GenerateContentRequest", violations)
    if (mode == "ANY" or allowed) and not declared:
        raise invalid_argument("Function calling config is set without function_declarations.")
    check_turns(contents)

    # -- usage -----------------------------------------------------------------------------
    by_modality: dict[str, int] = {}
    for content in ([system] if system is not None else []) + contents:
        for part in content["parts"]:
            tokens, modality = part_tokens(part)
            by_modality[modality] = by_modality.get(modality, 0) + tokens
    prompt_tokens = max(sum(by_modality.values()), 1)
    if not any(by_modality.values()):
        by_modality = {"TEXT": 1}
    cached = min(CACHED_CONTENT_TOKENS, prompt_tokens) if model == MODEL_CACHED else 0
    thoughts = 0
    if model == MODEL_EVERY_TOKEN:  # a cached (text) content before the prompt, and thinking
        cached, thoughts = EVERY_TOKEN_CACHED, EVERY_TOKEN_THOUGHTS
        prompt_tokens += cached
        by_modality["TEXT"] = by_modality.get("TEXT", 0) + cached
    details = [{"modality": m, "tokenCount": n} for m, n in by_modality.items() if n]
    plan = GenPlan(
        model=model,
        usage=Usage(prompt_tokens, details, cached, thoughts),
        candidate_count=config.get("candidateCount", 1),
    )

    # -- reply -----------------------------------------------------------------------------
    last_user_words: list[str] = []
    last_user_answers = False
    for content in contents:
        if (content.get("role") or "user") != "user":
            continue
        words = [w for w in (part_text(p) for p in content["parts"]) if w is not None]
        if words:
            last_user_words = words
            last_user_answers = any("functionResponse" in p for p in content["parts"])
    last_user = " ".join(last_user_words)
    if thinking.thinks and model != MODEL_EVERY_TOKEN:  # thoughts count apart from the answer
        plan.usage.thoughts_tokens = count_words(thought_text(last_user)) * plan.candidate_count
    if thinking.shown:
        plan.thought = thought_text(last_user)

    if declared and mode != "NONE" and not last_user_answers:
        name = allowed[0] if allowed else declared[0]
        schema = function_schema(request.get("tools", []), name) or {"type": "OBJECT"}
        plan.function_call = {"name": name, "args": sample(schema, last_user)}
        return plan

    text = "Echo: " + last_user
    if config.get("responseMimeType") == "application/json":
        text = json.dumps(sample(config.get("responseSchema") or {"type": "OBJECT"}, last_user))
    cut = min(
        (p for p in (text.find(s) for s in config.get("stopSequences", []) if s) if p >= 0),
        default=-1,
    )
    if cut >= 0:
        text = text[:cut]
    pieces = chat_pieces(text)
    max_words = config.get("maxOutputTokens")
    if model == MODEL_RUNAWAY:  # ignores maxOutputTokens: far more than it was allowed
        plan.pieces = [" run" * RUNAWAY_PIECE_WORDS] * RUNAWAY_PIECES
        return plan
    if max_words is not None and max_words < len(pieces):
        pieces = pieces[:max_words]
        pieces[-1] = pieces[-1].rstrip()
        plan.finish_reason = "MAX_TOKENS"
    plan.pieces = pieces
    return plan


def _safety_ratings() -> list[dict[str, Any]]:
    return [
        {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True},
    ]


def _response(
    plan: GenPlan,
    response_id: str,
    parts: list[dict[str, Any]] | None,
    finish_reason: str | None,
    candidates_tokens: int,
) -> dict[str, Any]:
    """One GenerateContentResponse (a whole reply, or one streamed chunk of it)."""
    candidates: list[dict[str, Any]] = []
    for index in range(plan.candidate_count):
        candidate: dict[str, Any] = {}
        if parts is not None:
            candidate["content"] = {"parts": parts, "role": "model"}
        if finish_reason is not None:
            candidate["finishReason"] = finish_reason
        candidate["index"] = index
        if finish_reason in WITHHELD.values():
            candidate["safetyRatings"] = _safety_ratings()
        candidates.append(candidate)
    return {
        "candidates": candidates,
        "usageMetadata": plan.usage.render(candidates_tokens),
        "modelVersion": plan.model,
        "responseId": response_id,
    }


def _responses(plan: GenPlan, stream: bool) -> Iterator[dict[str, Any]]:
    """The whole reply (``stream=False``: exactly one item) or its stream chunks, in order."""
    response_id = new_response_id()
    if plan.model in WITHHELD:
        yield _response(plan, response_id, None, WITHHELD[plan.model], 0)
        return
    if plan.model == MODEL_BLOCKED_PROMPT:  # the prompt itself was blocked: no candidate at all
        yield {
            "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": _safety_ratings()},
            "usageMetadata": plan.usage.render(0),
            "modelVersion": plan.model,
            "responseId": response_id,
        }
        return
    thought = [{"text": plan.thought, "thought": True}] if plan.thought else []
    if plan.function_call is not None:
        parts = [*thought, {"functionCall": plan.function_call}]
        yield _response(plan, response_id, parts, plan.finish_reason, plan.candidates_tokens)
        return
    if not stream or len(plan.pieces) <= 1:
        parts = [*thought, {"text": plan.text}]
        yield _response(plan, response_id, parts, plan.finish_reason, plan.candidates_tokens)
        return
    if thought:  # the thoughts' summary streams first, in a chunk of its own
        yield _response(plan, response_id, thought, None, 0)
    # Like Gemini, every chunk carries usageMetadata with the running candidate count; the last
    # one carries the finishReason and the final numbers.
    so_far = ""
    last = len(plan.pieces) - 1
    for i, piece in enumerate(plan.pieces):
        so_far += piece
        tokens = count_words(so_far) * plan.candidate_count
        finish = plan.finish_reason if i == last else None
        yield _response(plan, response_id, [{"text": piece}], finish, tokens)


async def generate(
    request: web.Request, body: Any, model: str, method: str, version: str
) -> web.StreamResponse:
    parsed = ProtoJson().parse(body, "GenerateContentRequest")
    check_method(model, method, version)
    plan = _plan_generate(parsed, model)
    await special_model(request, model)
    sse = request.query.get("alt") == "sse"
    if method == "generateContent" and not sse:
        (reply,) = _responses(plan, stream=False)
        return json_response(reply)

    headers = dict(BASE_HEADERS)
    headers["Content-Type"] = SSE_CT if sse else JSON_CT
    headers["Content-Disposition"] = "attachment"
    response = web.StreamResponse(status=200, headers=headers)
    await response.prepare(request)
    stall = model == MODEL_STALL_STREAM
    try:
        chunks = _responses(plan, stream=method == "streamGenerateContent")
        for i, chunk in enumerate(chunks):
            if sse:
                frame = b"data: " + encode(chunk) + SSE_SEP
            else:
                frame = (b"[" if i == 0 else ARRAY_SEP) + pretty_json(chunk)
            await response.write(frame)
            if stall and i == 0:
                await asyncio.sleep(request.app[SLOW_SECONDS])
        if not sse:
            await response.write(b"]")
        await response.write_eof()
    except ConnectionError:
        pass  # client went away mid-stream
    return response


async def count_tokens(body: Any, model: str, version: str) -> web.StreamResponse:
    parsed = ProtoJson().parse(body, "CountTokensRequest")
    check_method(model, "countTokens", version)
    inner = parsed.get("generateContentRequest")
    if inner is not None and "contents" in parsed:
        raise invalid_argument("contents and generate_content_request must not both be set.")
    plan = _plan_generate(inner if inner is not None else parsed, model)
    return json_response(
        {
            "totalTokens": plan.usage.prompt_tokens,
            "promptTokensDetails": plan.usage.prompt_details,
        }
    )
