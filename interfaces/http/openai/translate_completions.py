"""OpenAI legacy text completions (`POST /v1/completions`) ⇄ OpenAI chat, as pure functions: the
front door's translation for a model whose provider speaks only chat (Anthropic, Gemini).

A completions body with one text prompt becomes a chat body of one user message
(`completion_to_chat`); what has no chat meaning is refused with a 400 naming the parameter
(`InvalidRequest`, the only exception that leaves): a prompt of token ids, `suffix`, `echo`,
`logprobs`, `best_of` above `n`, `max_tokens` 0. A body of several prompts is answered one call
per prompt (`one_per_prompt`), the choices indexed prompt after prompt as OpenAI does. The chat
answer comes back as a `text_completion` (`chat_to_completion`). For a body passed natively,
`counted_as_chat` is what admission counts (never refusing: there the upstream judges).

Streams are `translate_completions_stream`.
"""

from __future__ import annotations

import time
from typing import Any, TypeGuard

from domains.providers.errors import InvalidRequest
from domains.providers.model import answered_model
from domains.providers.output_limit import COMPLETIONS_DEFAULT_MAX_TOKENS, completions_choices

# completions parameters a chat body takes under the same name and meaning
_SAME_IN_CHAT = (
    "temperature",
    "top_p",
    "n",
    "stop",
    "seed",
    "user",
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
)
_FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter"}


def prompt_problem(prompt: object) -> str | None:
    """Why `prompt` is none of OpenAI's shapes (a string, strings, token ids, arrays of token
    ids), or None when it is one (null too: the beginning of a document)."""
    if prompt is None or isinstance(prompt, str):
        return None
    if not isinstance(prompt, list) or not prompt:
        return "must be a string, or a non-empty array of strings, of token ids or of arrays"
    if all(isinstance(item, str) for item in prompt):
        return None
    if all(_token(item) for item in prompt):
        return None
    if all(isinstance(item, list) and item and all(map(_token, item)) for item in prompt):
        return None
    return "must be a string, or an array of strings, of token ids or of arrays of token ids"


def _token(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def several_prompts(body: dict[str, Any]) -> bool:
    """Whether the body asks for completions of more than one prompt."""
    prompt = body.get("prompt")
    return isinstance(prompt, list) and len(prompt) > 1 and not all(map(_token, prompt))


def one_per_prompt(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The body once per prompt it holds (itself when it holds one)."""
    prompt = body.get("prompt")
    if not several_prompts(body):
        return [body]
    assert isinstance(prompt, list)
    return [{**body, "prompt": one} for one in prompt]


# --- request -----------------------------------------------------------------------------------


def completion_to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A completions body of one text prompt as a chat body: the prompt is the user's message."""
    _check(isinstance(body, dict), "", "The request body must be a JSON object")
    model = body.get("model")
    _check(isinstance(model, str) and model != "", "model", "must be a non-empty string")
    out: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": _prompt_text(body.get("prompt"))}],
        "max_tokens": _max_tokens(body.get("max_tokens")),
    }
    for key in ("suffix", "logprobs"):
        _untranslatable(body.get(key) is not None, key, f"`{key}`")
    _untranslatable(body.get("echo") is True, "echo", "`echo`")
    n, best_of = body.get("n"), body.get("best_of")
    choices = n if _token(n) else 1
    candidates = best_of if _token(best_of) else 0
    _untranslatable(candidates > max(choices, 1), "best_of", "`best_of` above `n`")
    for key in _SAME_IN_CHAT:
        if body.get(key) is not None:
            out[key] = body[key]
    stream = body.get("stream")
    _check(stream is None or isinstance(stream, bool), "stream", "must be a boolean")
    if stream:
        out["stream"] = True
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage") is True:
            out["stream_options"] = {"include_usage": True}
    return out


def _prompt_text(prompt: object) -> str:
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if isinstance(prompt, str):
        _check(prompt != "", "prompt", "must not be empty for this model")
        return prompt
    if prompt is None:
        raise InvalidRequest("`prompt` must be given for this model.", param="prompt")
    if isinstance(prompt, list) and prompt and all(isinstance(item, str) for item in prompt):
        raise InvalidRequest(
            "This model answers one prompt per call; send the prompts as separate requests.",
            param="prompt",
        )
    problem = prompt_problem(prompt)
    if problem is not None:
        raise InvalidRequest(f"`prompt` {problem}.", param="prompt")
    raise InvalidRequest(
        "This model takes text prompts only: a prompt of token ids cannot be translated for it.",
        param="prompt",
    )


def _max_tokens(value: object) -> int:
    if value is None:
        return COMPLETIONS_DEFAULT_MAX_TOKENS
    if not _token(value) or value < 0:
        raise InvalidRequest("`max_tokens` must be a non-negative integer.", param="max_tokens")
    _check(value >= 1, "max_tokens", "must be at least 1 for this model")
    return value


def _untranslatable(present: bool, param: str, what: str) -> None:
    if present:
        raise InvalidRequest(
            f"{what} is not supported by this model: its provider offers chat completions "
            "only, which have no such parameter.",
            param=param,
        )


def _check(ok: bool, param: str, what: str) -> None:
    if not ok:
        raise InvalidRequest(f"`{param}` {what}." if param else f"{what}.", param=param or None)


def counted_as_chat(body: dict[str, Any]) -> dict[str, Any]:
    """What admission counts for a completions body passed natively, as a chat body: its
    prompts (and suffix) as text, token ids by their JSON text (more than they are: counts lean
    high), `max_tokens` per choice (OpenAI's default when not given) and as many choices as the
    upstream makes. Never raises: the upstream judges the body."""
    prompt = body.get("prompt") if isinstance(body, dict) else None
    if isinstance(prompt, list) and all(isinstance(item, str) for item in prompt):
        text: object = "\n".join(prompt)
    else:
        text = prompt if isinstance(prompt, str) else [{"type": "tokens", "tokens": prompt}]
    messages: list[dict[str, Any]] = [{"role": "user", "content": text}]
    suffix = body.get("suffix") if isinstance(body, dict) else None
    if isinstance(suffix, str) and suffix:
        messages.append({"role": "user", "content": suffix})
    max_tokens = body.get("max_tokens") if isinstance(body, dict) else None
    return {
        "model": body.get("model") if isinstance(body, dict) else None,
        "messages": messages,
        "max_tokens": max_tokens
        if _token(max_tokens) and max_tokens > 0
        else COMPLETIONS_DEFAULT_MAX_TOKENS,
        "n": completions_choices(body if isinstance(body, dict) else {}),
    }


# --- answer ------------------------------------------------------------------------------------


def finish_reason(chat_finish: object) -> str:
    """A completion's finish_reason for a chat one (a tool call or none at all reads `stop`)."""
    return _FINISH.get(chat_finish, "stop") if isinstance(chat_finish, str) else "stop"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if _token(value) and value >= 0 else 0


def completion_usage(usage: Any) -> dict[str, int]:
    """The `usage` of a text completion, from a chat one."""
    usage = _dict(usage)
    prompt, completion = _count(usage, "prompt_tokens"), _count(usage, "completion_tokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts, as some providers answer
        texts = (_dict(part).get("text") for part in content)
        return "".join(text for text in texts if isinstance(text, str))
    refusal = message.get("refusal")
    return refusal if isinstance(refusal, str) else ""


def chat_to_completion(
    chat: Any, *, completion_id: str, upstream: str, first_index: int = 0
) -> dict[str, Any]:
    """A chat completion as a `text_completion`; its choices numbered from `first_index` (the
    choices of the prompts before it). Tolerant: junk degrades to defaults."""
    chat = _dict(chat)
    created = chat.get("created")
    choices = []
    for position, choice in enumerate(c for c in chat.get("choices") or () if isinstance(c, dict)):
        index = choice.get("index")
        choices.append(
            {
                "text": _text(_dict(choice.get("message"))),
                "index": first_index + (index if _token(index) and index >= 0 else position),
                "logprobs": None,
                "finish_reason": finish_reason(choice.get("finish_reason")),
            }
        )
    out: dict[str, Any] = {
        "id": completion_id,
        "object": "text_completion",
        "created": created if _token(created) else int(time.time()),
        "model": answered_model(chat.get("model"), upstream),
        "choices": choices,
    }
    fingerprint = chat.get("system_fingerprint")
    if isinstance(fingerprint, str):
        out["system_fingerprint"] = fingerprint
    out["usage"] = completion_usage(chat.get("usage"))
    return out


def merged_completions(completions: list[dict[str, Any]]) -> dict[str, Any]:
    """The answers to the prompts of one body, one after another, as one `text_completion`:
    the first's id and model, every choice in order, the usage summed."""
    first = completions[0]
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    for completion in completions:
        for key in usage:
            usage[key] += completion["usage"][key]
    return {
        **first,
        "choices": [choice for completion in completions for choice in completion["choices"]],
        "usage": usage,
    }
