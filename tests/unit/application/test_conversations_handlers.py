"""Conversations and prompts commands through the whole bus, over the in-memory unit of work."""

from __future__ import annotations

from typing import Any

import pytest

from application.conversations.commands import (
    CreatePrompt,
    DeleteConversation,
    DeletePrompt,
    PublishPromptVersion,
    RecordTurn,
)
from domains.conversations.errors import ConversationNotFound
from domains.conversations.events import (
    ConversationDeleted,
    ConversationExtended,
    ConversationStarted,
    PromptDeleted,
    PromptPublished,
)
from domains.shared.errors import Conflict, NotFound
from tests.unit.application.bus_harness import Bus

TESTED = {RecordTurn, DeleteConversation, CreatePrompt, PublishPromptVersion, DeletePrompt}

HELLO = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"}]


@pytest.fixture
def h() -> Bus:
    return Bus()


def turn(*, start: bool, user_id: str | None = "u1", request_id: str = "r1") -> RecordTurn:
    return RecordTurn(
        conversation_id="c1",
        start=start,
        org_id="o1",
        team_id="t1",
        user_id=user_id,
        key_id="k1",
        messages=HELLO,
        request_id=request_id,
        finish_reason="stop",
        title="Greetings",
    )


def prompt(name: str = "greet", content: str = "Hello {{name}}") -> CreatePrompt:
    messages: list[dict[str, Any]] = [{"role": "system", "content": content}]
    return CreatePrompt(org_id="o1", team_id="t1", name=name, messages=messages, actor="alice")


async def test_first_turn_starts_the_conversation_and_stores_its_messages(h: Bus) -> None:
    conversation = await h.handle(turn(start=True))
    assert h.store.conversations == {"c1": conversation}
    assert conversation.message_count == 2
    assert h.store.messages == {
        ("c1", 0): (HELLO[0], "r1", "stop"),
        ("c1", 1): (HELLO[1], "r1", "stop"),
    }
    assert h.only(ConversationStarted).key_id == "k1"
    extended = h.only(ConversationExtended)
    assert (extended.first_seq, extended.messages) == (0, 2)


async def test_a_next_turn_goes_after_the_last_message(h: Bus) -> None:
    await h.quietly(turn(start=True))
    conversation = await h.handle(turn(start=False, request_id="r2"))
    assert conversation.message_count == 4
    assert h.store.messages[("c1", 3)] == (HELLO[1], "r2", "stop")
    assert h.only(ConversationExtended).first_seq == 2
    assert h.kinds() == ["ConversationExtended"]


async def test_a_turn_in_someone_elses_conversation_is_not_found(h: Bus) -> None:
    await h.quietly(turn(start=True))
    with pytest.raises(ConversationNotFound):
        await h.handle(turn(start=False, user_id="u2", request_id="r2"))
    assert len(h.store.messages) == 2
    assert h.events == []


async def test_delete_conversation_removes_it_and_its_messages(h: Bus) -> None:
    await h.quietly(turn(start=True))
    deleted = await h.handle(DeleteConversation(conversation_id="c1", actor="u1"))
    assert deleted.id == "c1"
    assert h.store.conversations == {}
    assert h.store.messages == {}
    event = h.only(ConversationDeleted)
    assert (event.messages, event.actor) == (2, "u1")


async def test_deleting_an_unknown_conversation_is_not_found(h: Bus) -> None:
    with pytest.raises(ConversationNotFound):
        await h.handle(DeleteConversation(conversation_id="nope", actor="u1"))
    assert h.events == []


async def test_create_prompt_stores_it_with_its_first_version(h: Bus) -> None:
    created, version = await h.handle(prompt())
    assert h.store.prompts == {created.id: created}
    assert h.store.prompt_versions == {(created.id, 1): version}
    assert version.variables == ["name"]
    event = h.only(PromptPublished)
    assert (event.prompt_id, event.version, event.actor) == (created.id, 1, "alice")


async def test_a_second_prompt_of_the_same_name_conflicts(h: Bus) -> None:
    await h.quietly(prompt())
    with pytest.raises(Conflict):
        await h.handle(prompt(content="Bye"))
    assert len(h.store.prompts) == 1
    assert h.events == []


async def test_publish_prompt_version_adds_the_next_version(h: Bus) -> None:
    created, _ = await h.quietly(prompt())
    same, version = await h.handle(
        PublishPromptVersion(
            prompt_id=created.id,
            messages=[{"role": "system", "content": "Hi {{who}}"}],
            actor="bob",
            description="friendlier",
        )
    )
    assert same.id == created.id
    assert (version.version, version.variables) == (2, ["who"])
    assert h.store.prompts[created.id].latest_version == 2
    assert h.store.prompts[created.id].description == "friendlier"
    assert set(h.store.prompt_versions) == {(created.id, 1), (created.id, 2)}
    assert h.only(PromptPublished).version == 2


async def test_publishing_to_an_unknown_prompt_is_not_found(h: Bus) -> None:
    with pytest.raises(NotFound):
        await h.handle(PublishPromptVersion(prompt_id="nope", messages=[], actor="bob"))
    assert h.store.prompt_versions == {}


async def test_delete_prompt_removes_it_and_all_its_versions(h: Bus) -> None:
    created, _ = await h.quietly(prompt())
    await h.handle(DeletePrompt(prompt_id=created.id, actor="alice"))
    assert h.store.prompts == {}
    assert h.store.prompt_versions == {}
    event = h.only(PromptDeleted)
    assert (event.name, event.versions) == ("greet", 1)


async def test_deleting_an_unknown_prompt_is_not_found(h: Bus) -> None:
    with pytest.raises(NotFound):
        await h.handle(DeletePrompt(prompt_id="nope", actor="alice"))
    assert h.events == []
