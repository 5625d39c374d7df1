"""The native lane and the routing around it: a Gemini stream passed on as Google wrote it while
its usage and length are read (cut past its reservation, an error event raised once the events
before it are out), a `countTokens` body made to name the upstream's model, the received bytes
sent while the body is unchanged, and the paths of Gemini's API."""

from __future__ import annotations

import json
from typing import Any, cast

import aiohttp
import msgspec
import pytest

from domains.providers.errors import UpstreamError
from domains.providers.output_limit import limited_body
from domains.providers.ports import Usage
from domains.providers.received_body import ReceivedBody, body_bytes
from domains.shared.errors import NotFound
from infrastructure.adapters.providers.gemini_native import NativeGeminiStream, counted_body
from infrastructure.adapters.providers.upstream_http import UpstreamHttp, UpstreamTimeouts
from interfaces.http.gemini.paths import is_gemini_path, route_label
from interfaces.http.gemini.routes import split_target


def stream() -> NativeGeminiStream:
    http = UpstreamHttp(
        "gemini", timeouts=UpstreamTimeouts(), max_connections=1, redact=lambda text: text
    )
    return NativeGeminiStream(http, cast(aiohttp.ClientResponse, None))


def event(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data).encode()


def text(words: str, *, finish: str | None = None, output: int = 0) -> bytes:
    candidate: dict[str, Any] = {"content": {"parts": [{"text": words}], "role": "model"}}
    if finish:
        candidate["finishReason"] = finish
    usage = {"promptTokenCount": 7, "candidatesTokenCount": output, "thoughtsTokenCount": 1}
    return event({"candidates": [candidate], "usageMetadata": usage})


def test_events_pass_as_google_wrote_them_while_usage_is_read() -> None:
    native = stream()
    events = [text("Echo:", output=1), text(" hi", finish="STOP", output=2)]
    out = native._on_events(events)
    assert out == events[0] + b"\r\n\r\n" + events[1] + b"\r\n\r\n"
    assert native.tally.usage == Usage(input_tokens=7, output_tokens=3, reasoning_tokens=1)
    assert native.tally.output_chars == len("Echo: hi")
    assert native.tally.finished


def test_no_event_passes_once_past_the_reservation() -> None:
    native = stream()
    native.tally.most_chars = 8
    out = native._on_events([text("12345"), text("67890"), text("more")])
    assert out.count(b"\r\n\r\n") == 2  # the event that went past is the last one passed
    assert not native.tally.finished


def test_an_error_event_is_raised_once_the_events_before_it_are_out() -> None:
    native = stream()
    failure = event(
        {"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}}
    )
    out = native._on_events([text("a"), failure, text("never")])
    assert out.count(b"data:") == 1
    with pytest.raises(UpstreamError) as raised:
        native._on_end(None)
    assert raised.value.status == 429
    with pytest.raises(UpstreamError):
        stream()._on_events([failure])


def test_a_blocked_prompt_finishes_the_stream() -> None:
    native = stream()
    native._on_events([event({"promptFeedback": {"blockReason": "SAFETY"}})])
    assert native.tally.finished


def test_count_tokens_bodies_name_the_upstream_model() -> None:
    inner = {"model": "models/mine", "contents": []}
    assert counted_body({"generateContentRequest": inner}, "gemini-up") == {
        "generateContentRequest": {"model": "models/gemini-up", "contents": []}
    }
    assert counted_body({"generate_content_request": {"model": "models/up"}}, "up") is None
    assert counted_body({"contents": []}, "up") is None


def test_the_received_bytes_are_sent_while_the_body_is_unchanged() -> None:
    raw = b'{ "contents" : [ ] , "generationConfig": {"maxOutputTokens": 900} }'
    received = ReceivedBody(msgspec.json.decode(raw), raw)
    encode = msgspec.json.encode
    assert body_bytes(received, encode) == raw
    capped = limited_body(received, kind="gemini", reserved=100, newer_field=False)
    assert (
        body_bytes(capped, encode) == b'{"contents":[],"generationConfig":{"maxOutputTokens":100}}'
    )
    untouched = limited_body(received, kind="gemini", reserved=1000, newer_field=False)
    assert body_bytes(untouched, encode) == raw


@pytest.mark.parametrize(
    ("target", "model", "method"),
    [
        ("/gemini-2.5-flash:generateContent", "gemini-2.5-flash", "generateContent"),
        ("/openai/gpt-4o:streamGenerateContent", "openai/gpt-4o", "streamGenerateContent"),
        ("/ns:model.v1.2:countTokens", "ns:model.v1.2", "countTokens"),
        ("/:batchEmbedContents", "", "batchEmbedContents"),
    ],
)
def test_the_method_follows_the_last_colon(target: str, model: str, method: str) -> None:
    assert split_target(target) == (model, method)


@pytest.mark.parametrize("target", ["/gemini", "/gemini:predict", "/a:b:"])
def test_an_unknown_method_is_not_found(target: str) -> None:
    with pytest.raises(NotFound):
        split_target(target)


def test_which_paths_are_geminis() -> None:
    assert is_gemini_path("POST", "/v1beta/models/x:generateContent")
    assert is_gemini_path("GET", "/v1beta/anything")
    assert is_gemini_path("POST", "/v1/models/x:countTokens")
    assert not is_gemini_path("GET", "/v1/models/x")
    assert not is_gemini_path("POST", "/v1/chat/completions")
    assert (
        route_label("/v1/models/openai/gpt-4o:streamGenerateContent")
        == "/v1beta/models/*:streamGenerateContent"
    )
    assert route_label("/v1beta/models/x:nothing") is None
    assert route_label("/v1/chat/completions") is None


def test_a_snake_case_body_is_capped_in_its_own_names() -> None:
    body = {"contents": [], "generation_config": {"max_output_tokens": 900, "candidate_count": 2}}
    capped = limited_body(body, kind="gemini", reserved=100, newer_field=False)
    assert capped == {
        "contents": [],
        "generation_config": {"max_output_tokens": 50, "candidate_count": 2},
    }
    assert limited_body({"contents": []}, kind="gemini", reserved=10, newer_field=False) == {
        "contents": [],
        "generationConfig": {"maxOutputTokens": 10},
    }
