"""`POST .../responses`: OpenAI's Responses API, answered whole or streamed as its semantic
events, with the behaviour of the fake's chat (echo, a function call when function tools are
given, a JSON answer for a `json_schema` format, the special model names) and its usage.

The request is read into the fake's chat plan (`requests.plan_chat`), so both APIs answer alike.
A response is kept unless ``store`` is false, so ``previous_response_id`` continues it (an unknown
id is OpenAI's 400 ``previous_response_not_found``). ``fake-reasoning`` models answer with a
reasoning item first, as OpenAI's reasoning models do.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from typing import Any, Final

from aiohttp import web

from tests.fakes.openai_upstream.errors import (
    bad_request,
    json_response,
    openai_error,
    prelude,
    special_model,
    with_request_id,
)
from tests.fakes.openai_upstream.models import (
    ABORT_LOG,
    MODEL_SLOW_STREAM,
    MODEL_STALL_STREAM,
    MODEL_STREAM_ERROR,
    SLOW_STREAM_DELAY,
    SSE_CT,
    StreamAbort,
    encode,
)
from tests.fakes.openai_upstream.requests import ChatPlan, plan_chat
from tests.fakes.server import SLOW_SECONDS, HTTPFailure

STORED: Final = web.AppKey("fake_openai_stored_responses", dict)
MIN_OUTPUT_TOKENS: Final = 16  # OpenAI refuses a smaller max_output_tokens


def _new_id(prefix: str) -> str:
    return f"{prefix}_{os.urandom(24).hex()}"


# --- the request -------------------------------------------------------------------------------


def _parts_text(content: object, param: str) -> list[dict[str, Any]]:
    """A message's content as chat parts (text and image), for the plan to read."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise bad_request(f"Invalid '{param}': expected a string or an array.", param)
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text"):
            parts.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "refusal":
            parts.append({"type": "text", "text": str(part.get("refusal", ""))})
        elif kind in ("input_image", "input_file"):
            parts.append({"type": "image_url", "image_url": {"url": "fake"}})
        else:
            raise bad_request(f"Invalid content part type: '{kind}'.", param)
    return parts


def _messages(items: list[Any], param: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        at = f"{param}[{i}]"
        if not isinstance(item, dict):
            raise bad_request(f"Invalid '{at}': expected an object.", at)
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise bad_request(f"Invalid value for '{at}.role': '{role}'.", f"{at}.role")
            content = _parts_text(item.get("content"), f"{at}.content")
            messages.append({"role": "system" if role == "developer" else role, "content": content})
        elif kind == "function_call":
            messages.append({"role": "assistant", "content": None})
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else _parts_text(output, f"{at}.output")
            messages.append({"role": "tool", "content": text})
    return messages


def _as_chat(body: Any, stored: dict[str, Any]) -> dict[str, Any]:
    """The chat body that asks what the Responses body asks, for the fake's plan."""
    if not isinstance(body, dict):
        raise bad_request("Invalid request body: expected a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("You must provide a model parameter.", "model")
    raw = body.get("input")
    items = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise bad_request("Invalid 'input': expected a string or an array of items.", "input")
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    previous = body.get("previous_response_id")
    if previous is not None:
        if previous not in stored:
            raise HTTPFailure(
                openai_error(
                    400,
                    f"Previous response with id '{previous}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            )
        messages += _messages(stored[previous], "previous_response_id")
    messages += _messages(items, "input")
    if not any(message["role"] != "system" for message in messages):
        raise bad_request("Invalid 'input': nothing to answer.", "input")
    chat: dict[str, Any] = {"model": model, "messages": messages}
    tools = [
        t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function"
    ]
    if tools:
        chat["tools"] = [{"type": "function", "function": {"name": t.get("name")}} for t in tools]
        choice = body.get("tool_choice")
        if isinstance(choice, dict) and choice.get("type") == "function":
            chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
        elif choice == "none":
            chat["tool_choice"] = "none"
    most = body.get("max_output_tokens")
    if most is not None:
        if type(most) is not int or most < MIN_OUTPUT_TOKENS:
            raise bad_request(
                "Invalid 'max_output_tokens': integer below minimum value. Expected a value "
                f">= {MIN_OUTPUT_TOKENS}, but got {most} instead.",
                "max_output_tokens",
                "integer_below_min_value",
            )
        chat["max_tokens"] = most
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        chat["response_format"] = {"type": "json_object"}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_schema":  # chat nests the schema
        spec = {"name": fmt.get("name"), "schema": fmt.get("schema")}
        chat["response_format"] = {"type": "json_schema", "json_schema": spec}
    if body.get("stream") is True:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


# --- the answer --------------------------------------------------------------------------------


class _Answer:
    """A planned answer in the Responses shape."""

    def __init__(self, body: dict[str, Any], plan: ChatPlan) -> None:
        self.body = body
        self.plan = plan
        self.id = _new_id("resp")
        self.created_at = int(time.time())
        self.incomplete = plan.finish_reason == "length"
        self.reasoning_id = _new_id("rs") if plan.reasoning_tokens else None
        self.item_id = _new_id("fc" if plan.tool_name is not None else "msg")

    @property
    def item_status(self) -> str:
        return "incomplete" if self.incomplete else "completed"

    def reasoning_item(self) -> dict[str, Any]:
        return {"id": self.reasoning_id, "type": "reasoning", "summary": []}

    def item(self, text: str, status: str) -> dict[str, Any]:
        plan = self.plan
        if plan.tool_name is not None:
            return {
                "id": self.item_id,
                "type": "function_call",
                "status": status,
                "arguments": text,
                "call_id": plan.tool_call_id,
                "name": plan.tool_name,
            }
        content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
        return {
            "id": self.item_id,
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content if status != "in_progress" else [],
        }

    def output(self, text: str) -> list[dict[str, Any]]:
        items = [self.reasoning_item()] if self.reasoning_id else []
        return [*items, self.item(text, self.item_status)]

    def usage(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "input_tokens": plan.prompt_tokens,
            "input_tokens_details": {"cached_tokens": plan.cached_tokens, "cache_write_tokens": 0},
            "output_tokens": plan.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
            "total_tokens": plan.prompt_tokens + plan.completion_tokens,
        }

    def response(self, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
        body = self.body
        text: dict[str, Any] = body["text"] if isinstance(body.get("text"), dict) else {}
        reasoning: dict[str, Any] = (
            body["reasoning"] if isinstance(body.get("reasoning"), dict) else {}
        )
        done = status in ("completed", "incomplete")
        response: dict[str, Any] = {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": False,
            "completed_at": int(time.time()) if status == "completed" else None,
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"}
            if status == "incomplete"
            else None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": body.get("max_tool_calls"),
            "model": self.plan.model,
            "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "prompt_cache_key": body.get("prompt_cache_key"),
            "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
            "safety_identifier": body.get("safety_identifier"),
            "service_tier": "default",
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": {
                "format": text.get("format") or {"type": "text"},
                "verbosity": text.get("verbosity", "medium"),
            },
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_logprobs": body.get("top_logprobs", 0),
            "top_p": body.get("top_p", 1.0),
            "truncation": body.get("truncation", "disabled"),
            "metadata": body.get("metadata") or {},
        }
        if done:  # no usage (and no user unless given) before: OpenAI's document has no null
            response["usage"] = self.usage()
        if isinstance(body.get("user"), str):
            response["user"] = body["user"]
        return response


def _store(request: web.Request, answer: _Answer, output: list[dict[str, Any]]) -> None:
    """Keeps the conversation so far for a later ``previous_response_id``."""
    if answer.body.get("store") is False:
        return
    stored = request.app[STORED]
    raw = answer.body.get("input")
    items = [{"role": "user", "content": raw}] if isinstance(raw, str) else list(raw or [])
    previous = stored.get(answer.body.get("previous_response_id"), [])
    stored[answer.id] = [*previous, *items, *output]


async def responses(request: web.Request) -> web.StreamResponse:
    body, key = await prelude(request)
    chat = _as_chat(body, request.app[STORED])
    plan = plan_chat(chat)
    await special_model(request, plan.model, key)
    answer = _Answer(body, plan)
    if plan.stream:
        return await _stream(request, answer)
    output = answer.output(plan.text)
    _store(request, answer, output)
    status = "incomplete" if answer.incomplete else "completed"
    return json_response(answer.response(status, output))


# --- the stream --------------------------------------------------------------------------------


def _pieces(plan: ChatPlan) -> Iterator[str]:
    yield from plan.pieces
    for i in range(1, plan.flood + 1):
        yield f" tok{i}" if i > 1 else "tok1"


async def _stream(request: web.Request, answer: _Answer) -> web.StreamResponse:
    response = web.StreamResponse(
        status=200,
        headers=with_request_id({"Content-Type": SSE_CT, "Cache-Control": "no-cache"}),
    )
    await response.prepare(request)
    plan = answer.plan
    sequence = 0
    sent = 0

    async def send(kind: str, **fields: Any) -> None:
        nonlocal sequence
        event = {"type": kind, "sequence_number": sequence, **fields}
        sequence += 1
        await response.write(b"event: " + kind.encode() + b"\ndata: " + encode(event) + b"\n\n")

    def aborted() -> None:
        log = request.app.get(ABORT_LOG)
        if log is not None:
            log.append(StreamAbort(time.monotonic(), plan.model, plan.prompt, sent))

    stall = plan.model == MODEL_STALL_STREAM
    pace = SLOW_STREAM_DELAY if plan.model == MODEL_SLOW_STREAM else 0.0
    is_call = plan.tool_name is not None
    try:
        await send("response.created", response=answer.response("in_progress", []))
        await send("response.in_progress", response=answer.response("in_progress", []))
        index = 0
        if answer.reasoning_id:
            await send(
                "response.output_item.added",
                output_index=0,
                item={**answer.reasoning_item(), "status": "in_progress"},
            )
            await send("response.output_item.done", output_index=0, item=answer.reasoning_item())
            index = 1
        item_id = answer.item_id
        await send(
            "response.output_item.added", output_index=index, item=answer.item("", "in_progress")
        )
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        where = {"item_id": item_id, "output_index": index}
        if not is_call:
            await send("response.content_part.added", **where, content_index=0, part=part)
        text = ""
        for piece in _pieces(plan):
            text += piece
            if is_call:
                await send("response.function_call_arguments.delta", **where, delta=piece)
            else:
                await send(
                    "response.output_text.delta", **where, content_index=0, delta=piece, logprobs=[]
                )
            sent += 1
            if plan.model == MODEL_STREAM_ERROR:
                await send(
                    "error",
                    code="server_error",
                    message="The server had an error while processing your request.",
                    param=None,
                )
                await response.write_eof()
                return response
            if stall and sent == 1:
                await asyncio.sleep(request.app[SLOW_SECONDS])
            elif pace:
                await asyncio.sleep(pace)
        if is_call:
            await send(
                "response.function_call_arguments.done",
                **where,
                name=plan.tool_name,
                arguments=text,
            )
        else:
            await send(
                "response.output_text.done", **where, content_index=0, text=text, logprobs=[]
            )
            await send(
                "response.content_part.done", **where, content_index=0, part={**part, "text": text}
            )
        await send(
            "response.output_item.done",
            output_index=index,
            item=answer.item(text, answer.item_status),
        )
        output = answer.output(text)
        _store(request, answer, output)
        if answer.incomplete:
            await send("response.incomplete", response=answer.response("incomplete", output))
        else:
            await send("response.completed", response=answer.response("completed", output))
        await response.write_eof()
    except ConnectionError:
        aborted()  # client went away mid-stream
    except asyncio.CancelledError:
        aborted()  # the connection closed while the fake waited: aiohttp cancels the handler
        raise
    return response
