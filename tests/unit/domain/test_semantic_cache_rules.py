"""The semantic cache's matching rules: the compared text is the last user message, written
small; two requests are compared only when everything else is the same (the partition: scope,
model, tools, response format, system prompt, earlier turns, sampling, delivery, the numbers
asked); a conversation with a tool result or an image is not compared unless allowed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.providers.semantic_cache import Question, compared, normalised, question_of

TOOL: Any = {"type": "function", "function": {"name": "lookup", "parameters": {}}}


def chat(question: str, system: str = "Be brief.", **members: Any) -> dict[str, Any]:
    return {
        "model": "whatever",
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": question},
        ],
        "temperature": 0,
        **members,
    }


def ask(body: dict[str, Any], **changed: Any) -> Question | None:
    parts: dict[str, Any] = {
        "scope": "org-1/team-1",
        "kind": "chat",
        "model": "gpt-4o-mini",
        "body": body,
        "stream": False,
        "include_usage": False,
    }
    parts.update(changed)
    return question_of(**parts)


def partition(body: dict[str, Any], **changed: Any) -> str:
    found = ask(body, **changed)
    assert found is not None
    return found.partition


words = st.text(
    alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Zs", "Po")), min_size=1, max_size=40
).filter(lambda text: normalised(text) != "")


@given(words, words)
def test_questions_without_numbers_share_the_partition_of_their_request(a: str, b: str) -> None:
    assert partition(chat(a)) == partition(chat(b))
    found = ask(chat(a))
    assert found is not None
    assert found.text == compared(a)


@given(words)
def test_anything_else_changes_the_partition(question: str) -> None:
    base = partition(chat(question))
    others = [
        partition(chat(question), model="gpt-4o"),
        partition(chat(question), scope="org-2/team-1"),
        partition(chat(question), scope="org-1/team-2"),
        partition(chat(question), kind="messages"),
        partition(chat(question), stream=True),
        partition(chat(question, system="Be thorough.")),
        partition(chat(question, tools=[TOOL])),
        partition(chat(question, tool_choice="none")),
        partition(chat(question, response_format={"type": "json_object"})),
        partition(chat(question, temperature=0.5)),
        partition(chat(question, seed=3)),
    ]
    assert base not in others
    assert len(set(others)) == len(others)


def test_earlier_turns_are_part_of_the_partition() -> None:
    def turns(earlier: str) -> dict[str, Any]:
        body = chat("and what about France?")
        body["messages"][1:1] = [
            {"role": "user", "content": earlier},
            {"role": "assistant", "content": "Vienna."},
        ]
        return body

    assert partition(turns("capital of Austria?")) != partition(turns("capital of Italy?"))
    assert partition(turns("capital of Austria?")) == partition(turns("capital of Austria?"))


def test_the_numbers_asked_are_part_of_the_partition() -> None:
    ten, twelve = chat("Convert 10 miles to km"), chat("Convert 12 miles to km")
    assert partition(ten) != partition(twelve)
    assert partition(ten) == partition(chat("How much is 10 miles in km?"))


def test_delivery_only_members_are_not() -> None:
    assert partition(chat("hi there", user="u1", metadata={"a": "b"})) == partition(
        chat("hi there")
    )


def test_the_text_is_written_small_without_its_function_words() -> None:
    found = ask(chat("  What is   the Capital of AUSTRIA?! "))
    assert found is not None
    assert found.text == "capital austria"
    assert compared("Why is the sky not blue?") == "why sky not blue"  # a negation stays
    assert compared("What is it?") == "what is it"  # nothing else: all of it


def with_tool_result() -> dict[str, Any]:
    body = chat("and now?")
    body["messages"][1:1] = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    return body


def with_image() -> dict[str, Any]:
    body = chat("what is this?")
    body["messages"].insert(
        1,
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
        },
    )
    return body


def test_tool_results_and_images_are_compared_only_when_allowed() -> None:
    assert ask(with_tool_result()) is None
    assert ask(with_tool_result(), allow_tool_results=True) is not None
    assert ask(with_image()) is None
    assert ask(with_image(), allow_images=True) is not None


@pytest.mark.parametrize(
    ("kind", "body", "text"),
    [
        ("responses", {"input": "Capital of Austria?"}, "capital austria"),
        (
            "responses",
            {"input": [{"role": "user", "content": [{"type": "input_text", "text": "Hi!"}]}]},
            "hi",
        ),
        ("completions", {"prompt": "Once upon a time"}, "once upon time"),
        (
            "messages",
            {"system": "x", "messages": [{"role": "user", "content": "Hello?"}]},
            "hello",
        ),
        ("gemini", {"contents": [{"role": "user", "parts": [{"text": "Hola"}]}]}, "hola"),
    ],
)
def test_every_dialect_has_its_question(kind: str, body: dict[str, Any], text: str) -> None:
    found = ask(body, kind=kind)
    assert found is not None
    assert found.text == text


def test_no_user_text_no_question() -> None:
    assert ask({"messages": [{"role": "system", "content": "x"}]}) is None
    assert ask(chat("?!")) is None
