"""Secrets nested anywhere in what is logged (a prompt's content parts, tool calls and their
arguments, dicts in lists in dicts) are scrubbed like top-level strings, and the value logged,
which may be a request body still to be sent, is never changed."""

from __future__ import annotations

import copy
import io
import json
import sys
from typing import Any

import msgspec
import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from infrastructure.observability import logging as logs
from infrastructure.security.redaction import REDACTED, Redactor, redact_nested
from tests.unit.infrastructure.test_access_line import KeptStream, stderr  # noqa: F401

KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
SEPARATORS = st.sampled_from([" ", "\n", '"', ",", ":", "(", "'"])

secrets_shaped = st.builds(
    lambda prefix, body: prefix + body,
    st.sampled_from(["sk-", "sk-proj-", "sk-ant-api03-", "fr-", "fra-", "frd-"]),
    st.text(KEY_ALPHABET, min_size=16, max_size=48),
)


@st.composite
def texts_with_a_secret(draw: st.DrawFn) -> tuple[str, str]:
    """(text, the key-shaped secret it holds), the secret between separators."""
    secret = draw(secrets_shaped)
    before = draw(st.text(max_size=20)) + draw(SEPARATORS)
    after = draw(SEPARATORS) + draw(st.text(max_size=20))
    return before + secret + after, secret


plain = st.text(st.characters(blacklist_categories=["Cs"]), max_size=10).filter(
    lambda text: Redactor()(text) == text
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), plain)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(plain, inner, max_size=4)),
    max_leaves=30,
)


@st.composite
def nested_with_secrets(draw: st.DrawFn) -> tuple[Any, list[str]]:
    """Arbitrary JSON with key-shaped secrets put in strings (values and keys) at any depth."""
    value = draw(json_values)
    planted: list[str] = []

    def plant(node: Any) -> Any:
        if isinstance(node, str) and draw(st.booleans()):
            text, secret = draw(texts_with_a_secret())
            planted.append(secret)
            return node + text
        if isinstance(node, list):
            return [plant(item) for item in node]
        if isinstance(node, dict):
            return {plant(key): plant(item) for key, item in node.items()}
        return node

    value = plant(value)
    text, secret = draw(texts_with_a_secret())
    planted.append(secret)
    return [value, {"deep": [{"deeper": text}]}], planted


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [*strings_in(key), *strings_in(item)]]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return []


@given(nested_with_secrets())
def test_no_secret_survives_anywhere_in_nested_json(case: tuple[Any, list[str]]) -> None:
    value, planted = case
    before = copy.deepcopy(value)
    scrubbed = redact_nested(value, Redactor())
    assert value == before  # the value itself is left as it was
    rendered = json.dumps(scrubbed)
    for secret in planted:
        assert secret not in rendered
    assert REDACTED in rendered


@given(json_values)
def test_what_holds_no_secret_is_logged_as_it_is(value: Any) -> None:
    assert redact_nested(value, Redactor()) == value
    assert strings_in(redact_nested(value, Redactor())) == strings_in(value)


def test_tuples_and_sets_are_scrubbed_and_other_values_kept() -> None:
    secret = "sk-" + "a" * 30
    assert redact_nested((secret, 1), Redactor()) == [REDACTED, 1]
    assert redact_nested({secret}, Redactor()) == [REDACTED]
    assert redact_nested({secret: b"x", 2: 3.5}, Redactor()) == {REDACTED: b"x", 2: 3.5}


def test_a_logged_prompt_is_scrubbed_at_every_depth(
    stderr: KeptStream,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(stderr, write_through=True))
    logs.configure_logging(level="info", fmt="json", redact=Redactor(["configured-pass-1234"]))
    in_part, in_tool = "sk-proj-" + "P" * 40, "fr-" + "T" * 32
    messages = [
        {"role": "user", "content": [{"type": "text", "text": f"my key is {in_part}"}]},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "login", "arguments": json.dumps({"key": in_tool})},
                }
            ],
        },
        {"role": "tool", "content": [{"nested": {"list": ["configured-pass-1234"]}}]},
    ]
    sent = copy.deepcopy(messages)
    structlog.get_logger("test").info("v1.prompt", model="m", messages=messages)
    assert messages == sent
    (line,) = [msgspec.json.decode(raw) for raw in stderr.getvalue().splitlines()]
    text = json.dumps(line)
    for secret in (in_part, in_tool, "configured-pass-1234"):
        assert secret not in text
    assert line["messages"][0]["content"][0]["text"] == f"my key is {REDACTED}"
    assert line["messages"][2]["content"][0]["nested"]["list"] == [REDACTED]
