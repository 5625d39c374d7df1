"""The rule-based prompt classifier behind `auto`: the table of docs/routing.md, the same tier in
every dialect, and properties over any body (never raises, always a tier, more never lowers)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.providers.complexity import TIERS, RuleClassifier, Signals, points, tier_of
from tests.support.gateway import TIER_ROUTING
from tests.support.tier_table import TierRow, documented_tiers, tier_table

CLASSIFIER = RuleClassifier()
ROWS = tier_table()


def chat(text: str) -> dict[str, Any]:
    return {"model": "auto", "messages": [{"role": "user", "content": text}]}


def in_every_dialect(text: str) -> dict[str, dict[str, Any]]:
    return {
        "chat": chat(text),
        "chat parts": {"messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]},
        "messages": {"max_tokens": 64, "messages": [{"role": "user", "content": text}]},
        "responses": {"input": text},
        "responses items": {
            "input": [{"role": "user", "content": [{"type": "input_text", "text": text}]}]
        },
        "completions": {"prompt": text},
        "gemini": {"contents": [{"role": "user", "parts": [{"text": text}]}]},
    }


def test_the_documented_table_has_every_tier() -> None:
    assert {row.tier for row in ROWS} == set(TIERS)
    assert len(ROWS) >= 8


@pytest.mark.parametrize("row", ROWS, ids=[row.prompt[:40] for row in ROWS])
def test_each_documented_prompt_gets_its_tier(row: TierRow) -> None:
    assert CLASSIFIER.classify(chat(row.prompt)).tier == row.tier


@pytest.mark.parametrize("row", ROWS, ids=[row.prompt[:40] for row in ROWS])
def test_a_prompt_gets_the_same_tier_in_every_dialect(row: TierRow) -> None:
    tiers = {
        name: CLASSIFIER.classify(body).tier for name, body in in_every_dialect(row.prompt).items()
    }
    assert set(tiers.values()) == {row.tier}, tiers


def test_images_ids_and_roles_are_not_read_as_prompt() -> None:
    image = "data:image/png;base64," + "QUJD" * 5000  # 20,000 characters of image
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": {"url": image}},
                ],
            }
        ]
    }
    classified = CLASSIFIER.classify(body)
    assert classified.signals.prompt_tokens == len("What is in this picture?") // 4
    assert classified.tier == "simple"


def test_tools_and_a_deep_conversation_add_points() -> None:
    question = "What's the weather in Paris?"
    alone = CLASSIFIER.classify(chat(question))
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {}}}]
    with_tools = CLASSIFIER.classify({**chat(question), "tools": tools})
    assert with_tools.signals.tools
    assert with_tools.score == alone.score + 1
    turns = [{"role": "user" if i % 2 else "assistant", "content": "ok"} for i in range(12)]
    deep = CLASSIFIER.classify({"messages": [*turns, {"role": "user", "content": question}]})
    assert deep.signals.turns == 13
    assert deep.score == alone.score + 2
    assert deep.tier == "medium"


def test_length_alone_climbs_the_tiers() -> None:
    sentence = "The quick brown fox jumps over the lazy dog. "  # 45 characters, no cue
    assert CLASSIFIER.classify(chat(sentence)).tier == "simple"
    assert CLASSIFIER.classify(chat(sentence * 40)).tier == "medium"  # ~450 tokens
    assert CLASSIFIER.classify(chat(sentence * 200)).score == 3  # ~2,250 tokens: all 3 points


def test_cues_far_inside_a_long_prompt_are_not_searched() -> None:
    filler = "lorem ipsum dolor sit amet " * 400  # 10,800 characters without a cue
    body = chat(filler + " prove this theorem step by step " + filler)
    signals = CLASSIFIER.classify(body).signals
    assert (signals.strong, signals.maths) == (0, 0)
    assert signals.prompt_tokens == len(body["messages"][0]["content"]) // 4


def test_the_tier_thresholds() -> None:
    plain = Signals(prompt_tokens=0)
    assert [tier_of(plain, score) for score in (0, 1, 2, 4, 5, 8, 9)] == [
        "simple",
        "simple",
        "medium",
        "medium",
        "complex",
        "complex",
        "reasoning",
    ]
    strong_alone = Signals(prompt_tokens=0, strong=1)
    assert tier_of(strong_alone, points(strong_alone)) == "medium"  # "prove" alone: 2 points
    with_maths = Signals(prompt_tokens=0, strong=1, maths=1)
    assert tier_of(with_maths, points(with_maths)) == "reasoning"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                ["messages", "content", "text", "parts", "input", "role", "type", "url", "x"]
            )
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)
BODIES = st.dictionaries(
    st.sampled_from(
        [
            "messages",
            "contents",
            "input",
            "prompt",
            "system",
            "instructions",
            "systemInstruction",
            "tools",
            "functions",
            "model",
        ]
    ),
    JSON,
    max_size=5,
)


@given(BODIES)
@settings(max_examples=300, deadline=None)
def test_any_body_gets_a_tier_and_never_raises(body: dict[str, Any]) -> None:
    classified = CLASSIFIER.classify(body)
    assert classified.tier in TIERS
    assert classified.score >= 0
    assert classified.signals.prompt_tokens >= 0


def test_a_very_deep_body_is_read_without_recursing_for_ever() -> None:
    body: Any = "prove it"
    for _ in range(5000):
        body = [body]
    assert CLASSIFIER.classify({"messages": body}).tier in TIERS


PHRASES = st.sampled_from(
    [
        "hello there",
        "what is the capital of Peru",
        "explain why",
        "compare the two options",
        "prove that it holds",
        "the integral of x",
        "2 + 2 = 4",
        "step by step",
        "1. first\n2. second",
        "then finally",
        "summarise this text",
        "a few more words about nothing in particular",
    ]
)
CODE = st.sampled_from(
    [
        "```python\nprint('hi')\n```",
        "def total(xs):\n    return sum(xs)",
        "const f = (x) => x + 1; console.log(f(2));",
        "SELECT name FROM users WHERE id = 7",
        "#include <stdio.h>",
    ]
)
ORDER = {tier: rank for rank, tier in enumerate(TIERS)}


@given(st.lists(PHRASES, min_size=1, max_size=8).map(" ".join), CODE)
@settings(max_examples=200, deadline=None)
def test_adding_code_never_lowers_the_tier(prompt: str, code: str) -> None:
    before = CLASSIFIER.classify(chat(prompt))
    after = CLASSIFIER.classify(
        {"messages": [{"role": "user", "content": prompt}, {"role": "user", "content": code}]}
    )
    assert after.signals.code > before.signals.code
    assert ORDER[after.tier] >= ORDER[before.tier]
    assert after.score >= before.score


@given(
    st.lists(PHRASES, min_size=1, max_size=8).map(" ".join),
    st.lists(PHRASES, min_size=1, max_size=8).map(" ".join),
)
@settings(max_examples=200, deadline=None)
def test_saying_more_never_lowers_the_tier(prompt: str, more: str) -> None:
    before = CLASSIFIER.classify({"messages": [{"role": "user", "content": prompt}]})
    after = CLASSIFIER.classify(
        {"messages": [{"role": "user", "content": prompt}, {"role": "user", "content": more}]}
    )
    assert ORDER[after.tier] >= ORDER[before.tier]


def test_the_tests_gateways_route_tiers_as_the_documented_example() -> None:
    assert documented_tiers() == TIER_ROUTING
