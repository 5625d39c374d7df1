"""Prompt templates: which variables they use, how they render, what they refuse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.conversations.prompts import Prompt
from domains.conversations.template import TemplateError, checked, render, variables_of

TEMPLATE = [
    {"role": "system", "content": "Be {{tone}}. {{ tone }} again; {{not a variable}} {x}"},
    {"role": "user", "content": "About {{topic}}", "name": "ada"},
]


def test_variables_are_found_once_sorted() -> None:
    assert variables_of(TEMPLATE) == ["tone", "topic"]
    assert variables_of([{"role": "user", "content": "none {{ }} {{1x}} {{a-b}}"}]) == []


def test_rendering_fills_every_variable_and_nothing_else() -> None:
    rendered = render(TEMPLATE, {"tone": "brief", "topic": "tides"})
    assert rendered == [
        {"role": "system", "content": "Be brief. brief again; {{not a variable}} {x}"},
        {"role": "user", "content": "About tides", "name": "ada"},
    ]
    assert TEMPLATE[0]["content"].startswith("Be {{tone}}")  # the template is untouched


@pytest.mark.parametrize(
    ("variables", "param"),
    [
        ({"tone": "x"}, "prompt.variables.topic"),
        ({"tone": "x", "topic": "y", "extra": "z"}, "prompt.variables.extra"),
    ],
)
def test_a_missing_or_unknown_variable_is_refused(variables: dict[str, str], param: str) -> None:
    with pytest.raises(TemplateError) as refused:
        render(TEMPLATE, variables)
    assert refused.value.param == param


@given(st.text(max_size=50))
def test_values_are_inserted_as_they_are_never_scanned_again(value: str) -> None:
    rendered = render([{"role": "user", "content": "<{{v}}>"}], {"v": value})
    assert rendered[0]["content"] == f"<{value}>"


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([], "messages"),
        ([{"role": "tool", "content": "x"}], "messages[0].role"),
        ([{"role": "user", "content": ""}], "messages[0].content"),
        ([{"role": "user", "content": ["part"]}], "messages[0].content"),
        ([{"role": "user", "content": "x", "tool_calls": []}], "messages[0].tool_calls"),
        ([{"role": "user", "content": "x", "name": ""}], "messages[0].name"),
        (["just text"], "messages[0]"),
    ],
)
def test_a_template_must_be_plain_chat_messages(messages: list[object], param: str) -> None:
    with pytest.raises(TemplateError) as refused:
        checked(messages)
    assert refused.value.param == param


def test_publishing_adds_versions_and_records_them() -> None:
    prompt, first = Prompt.create(
        org_id="o", team_id="t", name="explain", description=None, messages=TEMPLATE, actor="a"
    )
    second = prompt.publish([{"role": "user", "content": "{{topic}}"}], actor="b")
    assert (first.version, second.version, prompt.latest_version) == (1, 2, 2)
    assert (first.variables, second.variables) == (["tone", "topic"], ["topic"])
    events = prompt.pull_events()
    assert [(e.version, e.actor) for e in events] == [(1, "a"), (2, "b")]  # type: ignore[attr-defined]
