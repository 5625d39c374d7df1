"""Stored conversations (kept by the WebSocket chat), as the admin API shows them.

A conversation belongs to a team and to the person its key was issued for. Its owner lists,
reads and deletes their own; the org's owners and admins list and delete the org's (deletion on
request) but do not read them; the operator's admin key does everything. Another org's
conversations are 404s, like ones that do not exist.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncEngine

from application.conversations.commands import DeleteConversation
from application.teams.access import (
    Principal,
    conversations_listed,
    no_such,
    require_conversation_deleter,
    require_conversation_reader,
)
from infrastructure.queries.conversations import (
    ConversationFilter,
    ConversationView,
    conversation_by_id,
    conversations_of,
    messages_of,
)
from interfaces.http.admin.conversations_schemas import (
    ConversationDeletedOut,
    ConversationListOut,
    ConversationOut,
    StoredMessageOut,
    TranscriptOut,
)
from interfaces.http.admin.guard import require_admin
from interfaces.http.dependencies import Bus, Caller, Engine, Visible

QueryId = Annotated[str, Parameter(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
UserQuery = Annotated[str, Parameter(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
Limit = Annotated[int, Parameter(ge=1, le=200)]


def conversation_out(view: ConversationView) -> ConversationOut:
    return ConversationOut(
        **{name: getattr(view, name) for name in ConversationOut.__struct_fields__}
    )


def _listed(principal: Principal, org_id: str | None, user_id: str | None) -> ConversationFilter:
    org = principal.listed_org(org_id)
    whose, anyone = conversations_listed(principal, user_id)
    return ConversationFilter(org_id=org, user_id=whose, any_user=anyone)


async def _visible(
    engine: AsyncEngine, principal: Principal, conversation_id: str
) -> ConversationView:
    view = await conversation_by_id(engine, conversation_id)
    if view is None or not principal.sees(view.org_id):
        raise no_such("conversation")
    return view


class ConversationsController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: conversations"]

    @get("/conversations", summary="Stored conversations, newest first")
    async def list_conversations(
        self,
        engine: Engine,
        visible: Visible,
        org_id: QueryId | None = None,
        team_id: QueryId | None = None,
        user_id: UserQuery | None = None,
        limit: Limit = 50,
        before_id: QueryId | None = None,
    ) -> ConversationListOut:
        which = _listed(visible.principal, org_id, user_id)
        if team_id is not None:
            await visible.team(team_id)
            which = ConversationFilter(
                org_id=which.org_id, team_id=team_id, user_id=which.user_id, any_user=which.any_user
            )
        rows = await conversations_of(engine, which, limit=limit, before_id=before_id)
        return ConversationListOut(
            rows=[conversation_out(row) for row in rows],
            next_before_id=rows[-1].id if len(rows) == limit else None,
        )

    @get("/conversations/{conversation_id:str}", summary="A conversation and its messages")
    async def get_conversation(
        self, engine: Engine, principal: Caller, conversation_id: str
    ) -> TranscriptOut:
        view = await _visible(engine, principal, conversation_id)
        require_conversation_reader(principal, view.user_id)
        messages = await messages_of(engine, view.id)
        return TranscriptOut(
            conversation=conversation_out(view),
            messages=[
                StoredMessageOut(
                    seq=m.seq,
                    message=m.message,
                    request_id=m.request_id,
                    finish_reason=m.finish_reason,
                    created_at=m.created_at,
                )
                for m in messages
            ],
        )

    @delete(
        "/conversations/{conversation_id:str}",
        status_code=200,
        summary="Delete a conversation and all its messages",
    )
    async def delete_conversation(
        self, bus: Bus, engine: Engine, principal: Caller, conversation_id: str
    ) -> ConversationDeletedOut:
        view = await _visible(engine, principal, conversation_id)
        require_conversation_deleter(principal, view.user_id)
        await bus.handle(DeleteConversation(conversation_id=view.id, actor=principal.actor))
        return ConversationDeletedOut(id=view.id, deleted=True)
