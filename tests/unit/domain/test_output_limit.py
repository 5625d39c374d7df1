"""The most output tokens a request may produce: which field wins, `n`, the model's cap, and
values that are not usable limits."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.providers.output_limit import RequestKind, limited_body, max_output_tokens

NOT_LIMITS = [None, 0, -1, 1.5, "100", True, [100], {"n": 1}]


def chat(body: dict[str, Any], model_max: int | None = None, default: int = 4096) -> int:
    return max_output_tokens(body, kind="chat", model_max=model_max, default=default)


def messages(body: dict[str, Any], model_max: int | None = None, default: int = 4096) -> int:
    return max_output_tokens(body, kind="messages", model_max=model_max, default=default)


def test_chat_prefers_max_completion_tokens_then_max_tokens_then_model_then_default() -> None:
    assert chat({"max_completion_tokens": 100, "max_tokens": 200}, 300) == 100
    assert chat({"max_tokens": 200}, 300) == 200
    assert chat({}, 300) == 300
    assert chat({}) == 4096
    assert chat({}, default=7) == 7


def test_chat_request_limits_are_not_capped_by_the_model() -> None:
    assert chat({"max_tokens": 50_000}, model_max=16_384) == 50_000


def test_chat_multiplies_by_the_number_of_choices() -> None:
    assert chat({"max_tokens": 100, "n": 3}) == 300
    assert chat({"n": 2}, model_max=1000) == 2000
    assert chat({"n": 2}) == 8192
    assert chat({"max_tokens": 100, "n": 1}) == 100


@pytest.mark.parametrize("bad", NOT_LIMITS)
def test_chat_ignores_values_that_are_not_positive_integers(bad: object) -> None:
    assert chat({"max_completion_tokens": bad, "max_tokens": 200}) == 200
    assert chat({"max_tokens": bad}, model_max=300) == 300
    assert chat({"max_tokens": 100, "n": bad}) == 100


def test_messages_max_tokens_is_capped_by_the_model() -> None:
    assert messages({"max_tokens": 1000}, model_max=64_000) == 1000
    assert messages({"max_tokens": 100_000}, model_max=64_000) == 64_000
    assert messages({"max_tokens": 100_000}) == 100_000


@pytest.mark.parametrize("bad", NOT_LIMITS)
def test_messages_without_a_usable_max_tokens_falls_back(bad: object) -> None:
    assert messages({"max_tokens": bad}, model_max=8000) == 8000
    assert messages({"max_tokens": bad}) == 4096


def test_messages_ignore_openai_fields_and_n() -> None:
    body = {"max_tokens": 100, "max_completion_tokens": 5, "n": 4}
    assert messages(body) == 100


def test_a_model_limit_that_is_not_positive_is_no_limit() -> None:
    assert messages({"max_tokens": 500}, model_max=0) == 500
    assert chat({}, model_max=-5, default=10) == 10


def test_embeddings_produce_no_output_tokens() -> None:
    body = {"max_tokens": 100, "n": 3}
    assert max_output_tokens(body, kind="embeddings", model_max=10, default=4096) == 0


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)
_fields = st.sampled_from(["max_tokens", "max_completion_tokens", "n", "model"])
_bodies = st.dictionaries(_fields, _json | st.integers(min_value=-3, max_value=10**6))
_model_max = st.none() | st.integers(min_value=-5, max_value=10**6)
_kinds = st.sampled_from(["chat", "messages", "embeddings"])


@given(_bodies, _kinds, _model_max, st.integers(min_value=0, max_value=10**6))
def test_any_body_gives_a_non_negative_integer(
    body: dict[str, Any], kind: Any, model_max: int | None, default: int
) -> None:
    result = max_output_tokens(body, kind=kind, model_max=model_max, default=default)
    assert isinstance(result, int)
    assert not isinstance(result, bool)
    assert result >= 0


@given(_bodies, _model_max, st.integers(min_value=1, max_value=10**6))
def test_messages_never_exceed_a_model_limit(
    body: dict[str, Any], model_max: int | None, default: int
) -> None:
    result = messages(body, model_max, default)
    if model_max is not None and model_max >= 1:
        assert result <= model_max
    assert result >= 1


@given(
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=1, max_value=128),
    _model_max,
    _json,
)
def test_chat_reserves_the_requested_limit_for_every_choice(
    limit: int, n: int, model_max: int | None, other: object
) -> None:
    body = {"max_completion_tokens": limit, "max_tokens": other, "n": n}
    assert chat(body, model_max) == limit * n


# --- the body that asks the upstream for no more than was reserved ---------------------------


def test_a_chat_body_without_a_limit_gets_the_reservation_in_the_dialects_field() -> None:
    body: dict[str, Any] = {"model": "m", "messages": []}
    newer = limited_body(body, kind="chat", reserved=4096, newer_field=True)
    assert newer == {**body, "max_completion_tokens": 4096}
    older = limited_body(body, kind="chat", reserved=4096, newer_field=False)
    assert older == {**body, "max_tokens": 4096}
    assert body == {"model": "m", "messages": []}  # the caller's body is left as it was


def test_a_chat_body_keeps_the_field_it_names_and_a_limit_within_the_reservation() -> None:
    asked = {"max_tokens": 7}
    assert limited_body(asked, kind="chat", reserved=4096, newer_field=True) is asked
    both = {"max_completion_tokens": 9000, "max_tokens": 5}
    assert limited_body(both, kind="chat", reserved=100, newer_field=False) == {
        "max_completion_tokens": 100,
        "max_tokens": 5,
    }


def test_n_choices_share_the_reservation() -> None:
    body = {"n": 3}
    limited = limited_body(body, kind="chat", reserved=chat(body), newer_field=True)
    assert limited["max_completion_tokens"] == 4096
    assert chat(limited) == chat(body)


def test_a_messages_body_asking_more_than_was_reserved_is_lowered_to_it() -> None:
    assert limited_body({"max_tokens": 5000}, kind="messages", reserved=1024, newer_field=True) == {
        "max_tokens": 1024
    }
    assert limited_body({}, kind="messages", reserved=1024, newer_field=True) == {
        "max_tokens": 1024
    }
    within = {"max_tokens": 10}
    assert limited_body(within, kind="messages", reserved=1024, newer_field=True) is within


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "max_tokens": st.one_of(st.integers(-5, 10**30), st.sampled_from(NOT_LIMITS)),
            "max_completion_tokens": st.one_of(st.integers(-5, 10**30), st.none()),
            "n": st.one_of(st.integers(1, 128), st.sampled_from(NOT_LIMITS)),
            "max_output_tokens": st.one_of(st.integers(-5, 10**30), st.none()),
            "best_of": st.one_of(st.integers(1, 20), st.sampled_from(NOT_LIMITS)),
            "generationConfig": st.fixed_dictionaries(
                {},
                optional={
                    "maxOutputTokens": st.one_of(st.integers(-5, 10**30), st.none()),
                    "candidateCount": st.one_of(st.integers(1, 8), st.sampled_from(NOT_LIMITS)),
                },
            ),
        },
    ),
    st.sampled_from(["chat", "messages", "responses", "completions", "gemini"]),
    st.one_of(st.none(), st.integers(1, 200_000)),
    st.booleans(),
)
def test_the_limited_body_never_asks_for_more_than_was_reserved(
    body: dict[str, Any], kind: Any, model_max: int | None, newer: bool
) -> None:
    reserved = max_output_tokens(body, kind=kind, model_max=model_max, default=4096)
    limited = limited_body(body, kind=kind, reserved=reserved, newer_field=newer)
    assert max_output_tokens(limited, kind=kind, model_max=None, default=10**40) <= reserved
    assert max_output_tokens(limited, kind=kind, model_max=model_max, default=4096) <= reserved


def test_each_dialect_reads_and_caps_its_own_output_field() -> None:
    def most(body: dict[str, Any], kind: RequestKind) -> int:
        return max_output_tokens(body, kind=kind, model_max=None, default=4096)

    assert most({"max_output_tokens": 50}, "responses") == 50
    assert most({}, "responses") == 4096
    assert most({"max_output_tokens": 5}, "responses") == 16  # what OpenAI is asked for at least
    assert most({"max_tokens": 16, "n": 2, "best_of": 3}, "completions") == 48
    assert most({"generationConfig": {"maxOutputTokens": 10, "candidateCount": 2}}, "gemini") == 20
    assert most({"generationConfig": "nonsense"}, "gemini") == 4096

    def capped(body: dict[str, Any], kind: RequestKind) -> dict[str, Any]:
        return limited_body(body, kind=kind, reserved=12, newer_field=True)

    # OpenAI's Responses API takes no fewer than 16: a reservation of 12 still asks for them
    assert capped({"input": "x", "max_output_tokens": 99}, "responses") == {
        "input": "x",
        "max_output_tokens": 16,
    }
    within = {"input": "x", "max_output_tokens": 5}
    assert capped(within, "responses") is within  # the adapter raises it to 16 on the way
    assert capped({"prompt": "x", "best_of": 3}, "completions") == {
        "prompt": "x",
        "best_of": 3,
        "max_tokens": 4,
    }
    gemini = {"contents": [], "generationConfig": {"candidateCount": 2, "temperature": 0}}
    assert capped(gemini, "gemini")["generationConfig"] == {
        "candidateCount": 2,
        "temperature": 0,
        "maxOutputTokens": 6,
    }
    small = {"generationConfig": {"maxOutputTokens": 3}}
    assert capped(small, "gemini") is small


def test_legacy_completions_reserve_for_every_prompt_and_openai_s_default() -> None:
    def most(body: dict[str, Any]) -> int:
        return max_output_tokens(body, kind="completions", model_max=8192, default=4096)

    assert most({"prompt": "x"}) == 16  # OpenAI's default, not the model's limit
    assert most({"prompt": ["a", "b", "c"], "max_tokens": 10, "n": 2}) == 60
    assert most({"prompt": [[1], [2]], "max_tokens": 10}) == 20
    assert most({"prompt": [1, 2, 3], "max_tokens": 10}) == 10  # one prompt of token ids
    within = {"prompt": ["a", "b"]}
    assert limited_body(within, kind="completions", reserved=32, newer_field=True) is within
    assert limited_body(within, kind="completions", reserved=20, newer_field=True) == {
        "prompt": ["a", "b"],
        "max_tokens": 10,
    }
