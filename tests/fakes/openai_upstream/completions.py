"""`POST .../completions` (OpenAI's legacy text completions): the answer whole, or streamed as
OpenAI's server-sent events, for the completion models (:data:`COMPLETION_MODELS`).

As OpenAI answers: a chat model is a 404 ("This is a chat model..."), an unknown one a 404
``model_not_found``. Each prompt (a string, strings, a token array or token arrays) is answered
``"Echo: " + <its text>`` (a token array's text is its ids, ``t<id>`` each), at most
``max_tokens`` words (16 when not given, as OpenAI's default) with ``finish_reason`` ``length``
when cut there, else ``stop``; a ``stop`` sequence ends it early. ``n`` choices per prompt,
indexed prompt after prompt; ``best_of`` candidates are made (and billed) per prompt, ``n``
returned. ``echo`` puts the prompt before the text, ``logprobs`` gives one entry per word.
``fake-runaway`` ignores ``max_tokens`` (as the chat route does), the other special names fail
as on the chat route. Usage counts whitespace-separated words (a token array's ids).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from tests.fakes.openai_upstream.errors import (
    STREAM_ERROR_EVENT,
    bad_request,
    json_response,
    openai_error,
    prelude,
    special_model,
    with_request_id,
)
from tests.fakes.openai_upstream.models import (
    ABORT_LOG,
    COMPLETION_MODELS,
    MODEL_IDS,
    MODEL_RUNAWAY,
    MODEL_STREAM_ERROR,
    RUNAWAY_PIECE_WORDS,
    RUNAWAY_PIECES,
    SSE_CT,
    StreamAbort,
    encode,
)
from tests.fakes.server import HTTPFailure, RecordingStreamResponse, chat_pieces, count_words

DEFAULT_MAX_TOKENS: Final = 16
MAX_STOP_SEQUENCES: Final = 4
_NUMBER_RANGES: Final = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "frequency_penalty": (-2.0, 2.0),
    "presence_penalty": (-2.0, 2.0),
}


@dataclass(slots=True)
class Choice:
    index: int
    pieces: list[str]  # the generated text, one piece per word
    finish_reason: str
    echoed: str  # the prompt put before the text (echo), else ""

    @property
    def text(self) -> str:
        return self.echoed + "".join(self.pieces)


@dataclass(slots=True)
class CompletionPlan:
    model: str
    stream: bool
    include_usage: bool
    choices: list[Choice]
    prompt_tokens: int
    completion_tokens: int
    logprobs: int | None


async def completions(request: web.Request) -> web.StreamResponse:
    body, key = await prelude(request)
    if not isinstance(body, dict):
        raise bad_request("Invalid request body: expected a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("You must provide a model parameter.", "model")
    await special_model(request, model, key)
    _check_model(model)
    plan = plan_completion(body, model)
    completion_id = "cmpl-" + os.urandom(15).hex()
    created = int(time.time())
    if plan.stream:
        return await _stream(request, plan, completion_id, created)
    return json_response(
        {
            "id": completion_id,
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "text": choice.text,
                    "index": choice.index,
                    "logprobs": _logprobs(choice, plan.logprobs),
                    "finish_reason": choice.finish_reason,
                }
                for choice in plan.choices
            ],
            "usage": _usage(plan),
        }
    )


def _check_model(model: str) -> None:
    if model in COMPLETION_MODELS or model.startswith("fake-"):
        return
    if model in MODEL_IDS:
        raise HTTPFailure(
            openai_error(
                404,
                "This is a chat model and not supported in the v1/completions endpoint. "
                "Did you mean to use v1/chat/completions?",
                param="model",
            )
        )
    raise HTTPFailure(
        openai_error(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    )


# -- reading the request ---------------------------------------------------------------------------


def _prompts(raw: object) -> list[str]:
    """The text of each prompt (a token array's ids as ``t<id>`` words)."""
    if raw is None:  # the beginning of a new document
        return [""]
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw:
        if all(isinstance(item, str) for item in raw):
            return list(raw)
        if all(type(item) is int for item in raw):
            return [_tokens_text(raw)]
        if all(
            isinstance(item, list) and item and all(type(t) is int for t in item) for item in raw
        ):
            return [_tokens_text(item) for item in raw]
    raise bad_request(
        "Invalid 'prompt': expected a string, an array of strings, an array of tokens or an "
        "array of token arrays.",
        "prompt",
        "invalid_type",
    )


def _token_array(item: object) -> bool:
    return isinstance(item, list) and bool(item) and all(type(t) is int for t in item)


def _tokens_text(tokens: list[int]) -> str:
    return " ".join(f"t{token}" for token in tokens)


def _int(body: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if type(value) is not int or not low <= value <= high:
        raise bad_request(
            f"Invalid '{name}': expected an integer between {low} and {high}.",
            name,
            "invalid_value",
        )
    return value


def _wrong_type(name: str, expected: str) -> HTTPFailure:
    return bad_request(f"Invalid type for '{name}': expected {expected}.", name, "invalid_type")


def _checked_scalars(body: dict[str, Any]) -> None:
    for name, (low, high) in _NUMBER_RANGES.items():
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad_request(
                f"Invalid type for '{name}': expected a number.", name, "invalid_type"
            )
        if not low <= value <= high:
            raise bad_request(
                f"Invalid '{name}': expected a number between {low} and {high}.",
                name,
                "invalid_value",
            )
    for name in ("echo", "stream"):
        if body.get(name) is not None and not isinstance(body.get(name), bool):
            raise bad_request(
                f"Invalid type for '{name}': expected a boolean.", name, "invalid_type"
            )
    for name in ("suffix", "user"):
        if body.get(name) is not None and not isinstance(body.get(name), str):
            raise bad_request(
                f"Invalid type for '{name}': expected a string.", name, "invalid_type"
            )
    seed = body.get("seed")
    if seed is not None and type(seed) is not int:
        raise _wrong_type("seed", "an integer")
    bias = body.get("logit_bias")
    if bias is not None and not (
        isinstance(bias, dict) and all(type(v) is int and -100 <= v <= 100 for v in bias.values())
    ):
        raise bad_request(
            "Invalid 'logit_bias': expected a map of token ids to integers from -100 to 100.",
            "logit_bias",
            "invalid_value",
        )


def _stops(raw: object) -> list[str]:
    if raw is None:
        return []
    stops = [raw] if isinstance(raw, str) else raw
    if not isinstance(stops, list) or not all(isinstance(item, str) for item in stops):
        raise bad_request(
            "Invalid 'stop': expected a string or an array of strings.", "stop", "invalid_type"
        )
    if len(stops) > MAX_STOP_SEQUENCES:
        raise bad_request(
            f"Invalid 'stop': expected an array with maximum length {MAX_STOP_SEQUENCES}.",
            "stop",
            "array_above_max_length",
        )
    return [item for item in stops if item]


def plan_completion(body: dict[str, Any], model: str) -> CompletionPlan:
    if "prompt" not in body:
        raise bad_request(
            "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"
        )
    prompts = _prompts(body["prompt"])
    _checked_scalars(body)
    max_tokens = _int(body, "max_tokens", 0, 2**31 - 1)
    max_tokens = DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens
    n = _int(body, "n", 1, 128) or 1
    best_of = _int(body, "best_of", 0, 20)
    if best_of is not None and best_of < n:
        raise bad_request("best_of must be greater than or equal to n.", "best_of", "invalid_value")
    candidates = max(best_of or 1, n)
    logprobs = _int(body, "logprobs", 0, 5)
    stops = _stops(body.get("stop"))
    stream = body.get("stream") is True
    if stream and candidates > n:
        raise bad_request("Cannot stream results with best_of greater than n.", "best_of")
    options = body.get("stream_options")
    if options is not None and not stream:
        raise bad_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
        )
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    echo = body.get("echo") is True

    choices: list[Choice] = []
    completion_tokens = 0
    for number, prompt in enumerate(prompts):
        pieces, finish = _generated(model, prompt, max_tokens, stops)
        words = count_words("".join(pieces))
        completion_tokens += words * candidates
        for j in range(n):
            echoed = prompt if echo else ""
            choices.append(Choice(number * n + j, list(pieces), finish, echoed))
    prompt_tokens = sum(max(count_words(prompt), 1) for prompt in prompts)
    return CompletionPlan(
        model, stream, include_usage, choices, prompt_tokens, completion_tokens, logprobs
    )


def _generated(model: str, prompt: str, max_tokens: int, stops: list[str]) -> tuple[list[str], str]:
    """(the pieces of the answer to one prompt, why it ended)."""
    if model == MODEL_RUNAWAY:  # the limit asked for is ignored
        pieces = ["run" + " run" * (RUNAWAY_PIECE_WORDS - 1)]
        return pieces + [" run" * RUNAWAY_PIECE_WORDS] * (RUNAWAY_PIECES - 1), "stop"
    text = "Echo: " + prompt
    finish = "stop"
    for stop in stops:
        if stop in text:
            text = text[: text.index(stop)]
    pieces = chat_pieces(text)
    if max_tokens < len(pieces):
        pieces = pieces[:max_tokens]
        if pieces:
            pieces[-1] = pieces[-1].rstrip()
        finish = "length"
    return pieces, finish


# -- answering -------------------------------------------------------------------------------------


def _usage(plan: CompletionPlan) -> dict[str, int]:
    return {
        "prompt_tokens": plan.prompt_tokens,
        "completion_tokens": plan.completion_tokens,
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
    }


def _logprobs(choice: Choice, top: int | None, *, offset: int = 0) -> dict[str, Any] | None:
    """One entry per word of the choice (with ``echo``, of the prompt first, whose first word
    has no log probability, as OpenAI reports it)."""
    if top is None:
        return None
    tokens: list[str] = []
    logprobs: list[float | None] = []
    offsets: list[int] = []
    at = offset
    for number, piece in enumerate([*chat_pieces(choice.echoed), *choice.pieces]):
        tokens.append(piece)
        logprobs.append(None if number == 0 and choice.echoed else -0.25)
        offsets.append(at)
        at += len(piece)
    tops = [
        {token: -0.25, **{f"{token}~{alt}": -1.0 - alt for alt in range(1, top)}}
        for token in tokens
    ]
    return {
        "tokens": tokens,
        "token_logprobs": logprobs,
        "top_logprobs": tops,
        "text_offset": offsets,
    }


async def _stream(
    request: web.Request, plan: CompletionPlan, completion_id: str, created: int
) -> web.StreamResponse:
    response = RecordingStreamResponse(
        status=200,
        headers=with_request_id({"Content-Type": SSE_CT, "Cache-Control": "no-cache"}),
    )
    await response.prepare(request)
    sent = 0

    def frame(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        chunk: dict[str, Any] = {
            "id": completion_id,
            "object": "text_completion",
            "created": created,
            "choices": choices,
            "model": plan.model,
        }
        if plan.include_usage:
            chunk["usage"] = usage
        return b"data: " + encode(chunk) + b"\n\n"

    def piece(choice: Choice, text: str, finish: str | None, logprobs: Any = None) -> bytes:
        entry = {"text": text, "index": choice.index, "logprobs": logprobs, "finish_reason": finish}
        return frame([entry])

    try:
        for choice in plan.choices:
            at = 0
            if choice.echoed:
                await response.write(piece(choice, choice.echoed, None))
                at = len(choice.echoed)
            for text in choice.pieces:
                alone = Choice(choice.index, [text], choice.finish_reason, "")
                await response.write(
                    piece(choice, text, None, _logprobs(alone, plan.logprobs, offset=at))
                )
                at += len(text)
                sent += 1
                if plan.model == MODEL_STREAM_ERROR:
                    await response.write(STREAM_ERROR_EVENT)
                    await response.write_eof()
                    return response
            await response.write(piece(choice, "", choice.finish_reason))
        if plan.include_usage:
            await response.write(frame([], _usage(plan)))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
    except ConnectionError:
        _aborted(request, plan, sent)
    except asyncio.CancelledError:
        _aborted(request, plan, sent)
        raise
    return response


def _aborted(request: web.Request, plan: CompletionPlan, sent: int) -> None:
    log = request.app.get(ABORT_LOG)
    if log is not None:
        prompt = plan.choices[0].echoed if plan.choices else ""
        log.append(StreamAbort(time.monotonic(), plan.model, prompt, sent))
