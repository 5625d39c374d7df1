"""The chat-completions request a `chat.start` stands for.

The message's own fields (`type`, `id`, `prompt`, `conversation_id`, `conversation`) are taken
out; every other field passes to the model as on `/v1/chat/completions`. The messages sent are
the conversation's history, then the prompt's rendered messages, then the message's own. The
request always streams, with usage.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from application.providers.completions.request import CompletionRequest
from domains.providers.events import CompletionFinished
from domains.shared.caller import Caller
from interfaces.http.errors import ApiError
from interfaces.http.openai.decoding import validated
from interfaces.http.openai.schemas import ChatCompletionRequest
from interfaces.ws.conversation_turn import ConversationTurn, turn_for
from interfaces.ws.messages import PROTOCOL_FIELDS, ChatStart
from interfaces.ws.prompt_messages import prompt_messages
from interfaces.ws.services import ChatServices


@dataclass(frozen=True, slots=True)
class ChatRequest:
    body: dict[str, Any]
    conversation: ConversationTurn | None

    def completion(
        self,
        caller: Caller,
        request_id: str,
        model: str,
        *,
        on_admitted: Callable[[Mapping[str, str]], bool],
        observe: Callable[[CompletionFinished], None],
    ) -> CompletionRequest:
        """The pipeline's request: streamed with usage, told apart as the WebSocket's."""
        return CompletionRequest(
            caller=caller,
            request_id=request_id,
            model=model,
            body=self.body,
            stream=True,
            include_usage=True,
            transport="websocket",
            prompt_log="ws.prompt",
            on_admitted=on_admitted,
            observe=observe,
        )


async def prepare(
    services: ChatServices, caller: Caller, start: ChatStart, raw: dict[str, Any]
) -> ChatRequest:
    if start.conversation_id is not None and start.conversation is not None:
        raise ApiError(
            400,
            "Send `conversation_id` to continue a conversation or `conversation` to start one, "
            "not both.",
            code="invalid_value",
            param="conversation",
        )
    sent = raw.get("messages") or []
    rendered = await prompt_messages(services, caller, start.prompt) if start.prompt else []
    new = [*rendered, *sent]
    if not new:
        raise ApiError(
            400,
            "Missing required parameter: `messages` (or name a `prompt`).",
            code="invalid_value",
            param="messages",
        )
    turn = await turn_for(services, caller, start, new)
    body = {name: value for name, value in raw.items() if name not in PROTOCOL_FIELDS}
    body["messages"] = [*(turn.history if turn is not None else ()), *new]
    body["stream"] = True
    body["stream_options"] = {"include_usage": True}
    view = validated(body, ChatCompletionRequest)
    if view.n is not None and view.n != 1:
        raise ApiError(
            400,
            "Over the WebSocket a generation has one choice (`n` must be 1); start several "
            "generations instead.",
            code="invalid_value",
            param="n",
        )
    return ChatRequest(body=body, conversation=turn)
