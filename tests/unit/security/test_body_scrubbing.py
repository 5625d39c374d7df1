"""The scrubbing of kept bodies: secrets and personal data out of any JSON however nested, of a
stream's events, and of text that is not JSON; arbitrary JSON never makes it raise."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domains.providers.call_bodies import BODY_CAP, call_bodies
from domains.providers.events import CallBodies
from infrastructure.security.body_scrubbing import BodyScrubber, luhn_valid
from infrastructure.security.redaction import Redactor

UPSTREAM_SECRET = "upstream-Secret-0123456789"
PLANTED = (
    UPSTREAM_SECRET,
    "sk-proj-PlantedSecret0123456789",
    "fr-PlantedVirtualKey0123456789",
    "fradm-PlantedAdminKey0123456789",
    "Bearer PlantedBearerToken0123",
)


def scrubber(**given: Any) -> BodyScrubber:
    return BodyScrubber(Redactor([UPSTREAM_SECRET]), **given)


def test_secrets_are_scrubbed_however_deep_in_values_and_keys() -> None:
    body = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": f"use {PLANTED[1]} now"}]},
            {"role": "tool", "tool_calls": [{"arguments": json.dumps({"key": PLANTED[2]})}]},
        ],
        "nested": {PLANTED[3]: [[[{"deep": UPSTREAM_SECRET}]]]},
        "auth": PLANTED[4],
    }
    scrubbed = scrubber().body(json.dumps(body))
    for secret in PLANTED:
        assert secret not in scrubbed
    assert json.loads(scrubbed)["messages"][0]["role"] == "user"  # still the same JSON


def test_personal_data_is_replaced_by_its_pattern_name() -> None:
    text = json.dumps(
        {
            "content": "write to ann.lee+x@mail.example.org, card 4111-1111-1111-1111, "
            "call +44 20 7946 0958; order 4111 1111 1111 1112 on 2026-12-07, ssn 078-05-1120"
        }
    )
    scrubbed = json.loads(
        scrubber(patterns=[("ssn", r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b")]).body(text)
    )["content"]
    assert scrubbed == (
        "write to [REDACTED:email], card [REDACTED:card], call [REDACTED:phone]; "
        "order 4111 1111 1111 1112 on 2026-12-07, ssn [REDACTED:ssn]"
    )


def test_the_built_in_patterns_can_be_left_out() -> None:
    assert scrubber(built_in=False).text("a@b.example") == "a@b.example"


def test_a_streams_events_are_scrubbed_each() -> None:
    stream = (
        'data: {"choices":[{"delta":{"content":"me@x.example"}}]}\n\n'
        f'data: {{"choices":[{{"delta":{{"content":"{PLANTED[1]}"}}}}]}}\n\n'
        "data: [DONE]\n\n"
    )
    scrubbed = scrubber().body(stream)
    assert "me@x.example" not in scrubbed
    assert PLANTED[1] not in scrubbed
    assert "[REDACTED:email]" in scrubbed
    assert scrubbed.endswith("data: [DONE]\n\n")


def test_a_body_cut_at_its_cap_is_scrubbed_as_text() -> None:
    bodies = call_bodies({"content": "x" * BODY_CAP + PLANTED[1]}, f"{PLANTED[1]}".encode())
    assert bodies.prompt_truncated
    assert not bodies.response_truncated
    assert len(bodies.prompt or "") == BODY_CAP
    cut = call_bodies({"content": f"{PLANTED[1]} " + "y" * BODY_CAP}, None)
    scrubbed = scrubber().bodies(cut)
    assert PLANTED[1] not in (scrubbed.prompt or "")
    assert scrubbed.prompt_truncated
    assert scrubbed.response is None


def test_luhn() -> None:
    assert luhn_valid("4111 1111 1111 1111")
    assert not luhn_valid("4111 1111 1111 1112")
    assert not luhn_valid("1234")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=40,
)


def _planted(value: Any, secret: str, where: int) -> Any:
    """`value` with `secret` put in: as a string inside text, a key, or a list item."""
    if where == 0:
        return {"x": [value, f"pre{secret}post"]}
    if where == 1:
        return {f"k {secret}": value}
    return [value, {"deep": [[{"deeper": f"{secret} "}]]}]


@settings(max_examples=300, deadline=None)
@given(value=json_values, secret=st.sampled_from(PLANTED), where=st.integers(0, 2))
def test_arbitrary_json_never_raises_nor_leaks_a_planted_secret(
    value: Any, secret: str, where: int
) -> None:
    text = json.dumps(_planted(value, secret, where))
    scrubbed = scrubber(patterns=[("word", "[A-Z]{40,}")]).body(text)
    assert secret not in scrubbed
    json.loads(scrubbed)


@settings(max_examples=300, deadline=None)
@given(text=st.text(), secret=st.sampled_from(PLANTED))
def test_arbitrary_text_never_raises_nor_leaks_a_planted_secret(text: str, secret: str) -> None:
    planted = f"{text} {secret} {text}"
    result = scrubber().bodies(CallBodies(prompt=planted, response=text))
    assert secret not in (result.prompt or "")
