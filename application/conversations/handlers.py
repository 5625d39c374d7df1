"""Handlers of the conversations context: load, call one method, commit."""

from __future__ import annotations

from application.conversations.commands import (
    CreatePrompt,
    DeleteConversation,
    DeletePrompt,
    PublishPromptVersion,
    RecordTurn,
)
from application.conversations.uow import ConversationsUnitOfWork
from domains.conversations.errors import ConversationNotFound
from domains.conversations.model import Conversation
from domains.conversations.prompts import Prompt, PromptVersion
from domains.shared.errors import NotFound


async def record_turn(command: RecordTurn, uow: ConversationsUnitOfWork) -> Conversation:
    async with uow:
        if command.start:
            conversation = Conversation.start(
                command.conversation_id,
                org_id=command.org_id,
                team_id=command.team_id,
                user_id=command.user_id,
                key_id=command.key_id,
                title=command.title,
            )
            await uow.conversations.add(conversation)
        else:
            found = await uow.conversations.get(command.conversation_id)
            if found is None or not found.owned_by(command.team_id, command.user_id):
                raise ConversationNotFound()
            conversation = found
        first = conversation.extend(
            len(command.messages),
            request_id=command.request_id,
            finish_reason=command.finish_reason,
        )
        await uow.conversations.save(conversation)
        await uow.conversations.append(
            conversation.id,
            first,
            command.messages,
            request_id=command.request_id,
            finish_reason=command.finish_reason,
        )
        await uow.commit()
    return conversation


async def delete_conversation(
    command: DeleteConversation, uow: ConversationsUnitOfWork
) -> Conversation:
    async with uow:
        conversation = await uow.conversations.get(command.conversation_id)
        if conversation is None:
            raise ConversationNotFound()
        conversation.delete(actor=command.actor)
        await uow.conversations.remove(conversation.id)
        await uow.commit()
    return conversation


async def create_prompt(
    command: CreatePrompt, uow: ConversationsUnitOfWork
) -> tuple[Prompt, PromptVersion]:
    async with uow:
        prompt, version = Prompt.create(
            org_id=command.org_id,
            team_id=command.team_id,
            name=command.name,
            description=command.description,
            messages=command.messages,
            actor=command.actor,
        )
        await uow.prompts.add(prompt)
        await uow.prompts.add_version(version)
        await uow.commit()
    return prompt, version


async def publish_prompt_version(
    command: PublishPromptVersion, uow: ConversationsUnitOfWork
) -> tuple[Prompt, PromptVersion]:
    async with uow:
        prompt = await uow.prompts.get(command.prompt_id)
        if prompt is None:
            raise NotFound("There is no such prompt.")
        version = prompt.publish(
            command.messages, actor=command.actor, description=command.description
        )
        await uow.prompts.save(prompt)
        await uow.prompts.add_version(version)
        await uow.commit()
    return prompt, version


async def delete_prompt(command: DeletePrompt, uow: ConversationsUnitOfWork) -> Prompt:
    async with uow:
        prompt = await uow.prompts.get(command.prompt_id)
        if prompt is None:
            raise NotFound("There is no such prompt.")
        prompt.delete(actor=command.actor)
        await uow.prompts.remove(prompt.id)
        await uow.commit()
    return prompt
