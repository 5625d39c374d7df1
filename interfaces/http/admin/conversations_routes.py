"""Stored conversations (kept by the WebSocket chat), as the admin API shows them.

A conversation belongs to a team and to the person its key was issued for. Its owner lists,
reads and deletes their own; the org's owners and admins list and delete the org's (deletion on
request) but do not read them; the operator's admin key does everything. Another org's
conversations are 404s, like ones that do not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get
from litestar.params import Parameter

from application.conversations.commands import DeleteConversation
from domains.teams.users import manages
from infrastructure.read_models.conversations_query import (
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
from interfaces.http.admin.principal import Principal, no_such, principal_of
from interfaces.http.admin.scoping import forbidden, listed_org, visible_team
from interfaces.http.container import container_of

QueryId = Annotated[str, Parameter(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
UserQuery = Annotated[str, Parameter(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
Limit = Annotated[int, Parameter(ge=1, le=200)]


def conversation_out(view: ConversationView) -> ConversationOut:
    return ConversationOut(
        **{name: getattr(view, name) for name in ConversationOut.__struct_fields__}
    )


def _owns(principal: Principal, view: ConversationView) -> bool:
    return principal.user_id is not None and view.user_id == principal.user_id


def _listed(principal: Principal, org_id: str | None, user_id: str | None) -> ConversationFilter:
    org = listed_org(principal, org_id)
    if principal.is_root or manages(principal.role):
        return ConversationFilter(org_id=org, user_id=user_id, any_user=user_id is None)
    if user_id is not None and user_id != principal.user_id:
        raise forbidden("A member or viewer lists their own conversations only.")
    return ConversationFilter(org_id=org, user_id=principal.user_id, any_user=False)


class ConversationsController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: conversations"]

    @get("/conversations", summary="Stored conversations, newest first")
    async def list_conversations(
        self,
        request: Request[Any, Any, Any],
        org_id: QueryId | None = None,
        team_id: QueryId | None = None,
        user_id: UserQuery | None = None,
        limit: Limit = 50,
        before_id: QueryId | None = None,
    ) -> ConversationListOut:
        principal = principal_of(request)
        which = _listed(principal, org_id, user_id)
        if team_id is not None:
            await visible_team(request, team_id)
            which = ConversationFilter(
                org_id=which.org_id, team_id=team_id, user_id=which.user_id, any_user=which.any_user
            )
        rows = await conversations_of(
            container_of(request).engine, which, limit=limit, before_id=before_id
        )
        return ConversationListOut(
            rows=[conversation_out(row) for row in rows],
            next_before_id=rows[-1].id if len(rows) == limit else None,
        )

    @get("/conversations/{conversation_id:str}", summary="A conversation and its messages")
    async def get_conversation(
        self, request: Request[Any, Any, Any], conversation_id: str
    ) -> TranscriptOut:
        principal = principal_of(request)
        view = await _visible(request, conversation_id)
        if not (principal.is_root or _owns(principal, view)):
            raise forbidden("A conversation is read by its owner only.")
        messages = await messages_of(container_of(request).engine, view.id)
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
        self, request: Request[Any, Any, Any], conversation_id: str
    ) -> ConversationDeletedOut:
        principal = principal_of(request)
        view = await _visible(request, conversation_id)
        if not (principal.is_root or _owns(principal, view) or manages(principal.role)):
            raise forbidden(
                "A conversation is deleted by its owner or the org's owners and admins."
            )
        await container_of(request).bus.handle(
            DeleteConversation(conversation_id=view.id, actor=principal.actor)
        )
        return ConversationDeletedOut(id=view.id, deleted=True)


async def _visible(request: Request[Any, Any, Any], conversation_id: str) -> ConversationView:
    view = await conversation_by_id(container_of(request).engine, conversation_id)
    if view is None or not principal_of(request).sees(view.org_id):
        raise no_such("conversation")
    return view
