"""Handlers of the stored responses (`/v1/responses`): load, call one method, commit."""

from __future__ import annotations

from datetime import timedelta

from application.conversations.commands import (
    DeleteResponse,
    ForgetExpiredResponses,
    StoreResponse,
    StoreResponses,
)
from application.conversations.uow import ConversationsUnitOfWork
from domains.conversations.errors import ResponseNotFound
from domains.conversations.responses import ResponseRecord, StoredResponse
from domains.shared.clock import utcnow


def _kept(command: StoreResponse) -> ResponseRecord:
    return ResponseRecord.keep(
        bytes(command.response),
        bytes(command.input_items),
        response_id=command.response_id,
        model=command.model,
        status=command.status,
        org_id=command.org_id,
        team_id=command.team_id,
        key_id=command.key_id,
        user_id=command.user_id,
        previous_response_id=command.previous_response_id,
        retention=timedelta(seconds=command.retention_seconds),
    )


async def store_response(command: StoreResponse, uow: ConversationsUnitOfWork) -> ResponseRecord:
    async with uow:
        stored = _kept(command)
        await uow.responses.add(stored)
        await uow.commit()
    return stored


async def store_responses(
    command: StoreResponses, uow: ConversationsUnitOfWork
) -> list[ResponseRecord]:
    async with uow:
        stored = [_kept(one) for one in command.responses]
        await uow.responses.add_all(stored)
        await uow.commit()
    return stored


async def delete_response(command: DeleteResponse, uow: ConversationsUnitOfWork) -> StoredResponse:
    async with uow:
        stored = await uow.responses.get(command.response_id)
        if stored is None or not stored.visible_to(command.org_id, utcnow()):
            raise ResponseNotFound(command.response_id)
        stored.delete(actor=command.actor)
        await uow.responses.remove(stored.id)
        await uow.commit()
    return stored


async def forget_expired_responses(
    command: ForgetExpiredResponses, uow: ConversationsUnitOfWork
) -> int:
    async with uow:
        forgotten = await uow.responses.remove_expired(utcnow(), most=command.most)
        await uow.commit()
    return forgotten
