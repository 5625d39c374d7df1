"""Properties of the answer translation: any events give chunks or an upstream error, and reading
an error never raises."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.providers.errors import UpstreamError
from domains.providers.upstream_failures import Condition
from infrastructure.adapters.providers.gemini_wire import (
    error_facts,
)
from tests.unit.wire.gemini.strategies import args_value, json_value, maybe, mostly
from tests.unit.wire.gemini.support import translator

# (c) arbitrary events: chunks, or an UpstreamError, nothing else.

event_part = mostly(
    st.one_of(
        st.fixed_dictionaries(
            {"text": mostly(st.text(max_size=6))}, optional={"thought": st.booleans()}
        ),
        st.fixed_dictionaries(
            {"functionCall": mostly(maybe(["name", "args"], st.just("f") | args_value))},
            optional={"thoughtSignature": json_value},
        ),
        maybe(["text", "thought", "functionCall", "inlineData"], json_value),
    )
)
candidate_like = mostly(
    st.fixed_dictionaries(
        {},
        optional={
            "content": mostly(
                st.fixed_dictionaries(
                    {"parts": mostly(st.lists(event_part, max_size=3))},
                    optional={"role": st.just("model")},
                )
            ),
            "finishReason": mostly(
                st.sampled_from(["STOP", "MAX_TOKENS", "SAFETY", "MALFORMED_FUNCTION_CALL"])
            ),
            "index": mostly(st.integers(0, 2)),
        },
    )
)
usage_like = mostly(
    maybe(
        [
            "promptTokenCount",
            "candidatesTokenCount",
            "thoughtsTokenCount",
            "cachedContentTokenCount",
        ],
        mostly(st.integers(0, 10**6)),
    )
)
error_like = mostly(
    st.fixed_dictionaries(
        {},
        optional={
            "code": mostly(st.sampled_from([400, 429, 500, 503])),
            "message": mostly(st.text(max_size=8)),
            "status": mostly(st.sampled_from(["RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL"])),
            "details": json_value,
        },
    )
)
event_like = st.one_of(
    st.dictionaries(st.text(max_size=8), json_value, max_size=4),
    st.fixed_dictionaries(
        {},
        optional={
            "candidates": mostly(st.lists(candidate_like, max_size=3)),
            "usageMetadata": usage_like,
            "promptFeedback": mostly(maybe(["blockReason"], st.just("SAFETY"))),
        },
    ),
    st.fixed_dictionaries({"error": error_like}),
)


@given(st.lists(event_like, max_size=5), st.booleans())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_any_events_give_chunks_or_an_upstream_error(
    events: list[dict[str, Any]], include_usage: bool
) -> None:
    stream = translator(include_usage=include_usage)
    try:
        chunks = [chunk for event in events for chunk in stream.feed(event)]
    except UpstreamError as error:
        failed: UpstreamError | None = error
    else:
        failed = None
    if failed is not None:  # anything else than UpstreamError fails the test
        assert 400 <= failed.status <= 599
        return
    chunks += stream.finish()
    json.dumps(chunks)
    assert stream.finished
    assert stream.output_chars >= 0


# (d) error_facts never raises.


@given(
    st.integers(-1000, 1000),
    st.binary(max_size=256) | json_value.map(lambda v: json.dumps({"error": v}).encode()),
    st.none() | st.text(max_size=10),
)
@settings(max_examples=300)
def test_error_facts_never_raises(status: int, body: bytes, retry_after: str | None) -> None:
    condition, message, retry = error_facts(status, body, retry_after)
    assert condition in Condition
    assert message
    assert retry is None or isinstance(retry, str)
