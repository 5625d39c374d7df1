"""A `chat.start`'s `prompt`: a prompt of the caller's team's library, rendered with the
variables given, as the messages it stands for."""

from __future__ import annotations

from typing import Any

from domains.conversations.errors import PromptNotFound
from domains.conversations.template import TemplateError, render
from domains.shared.caller import Caller
from infrastructure.queries.prompts import prompt_version
from interfaces.http.errors import ApiError
from interfaces.ws.messages import PromptRef
from interfaces.ws.services import ChatServices


async def prompt_messages(
    services: ChatServices, caller: Caller, ref: PromptRef
) -> list[dict[str, Any]]:
    found = await prompt_version(services.engine, caller.team_id, ref.name, ref.version)
    if found is None:
        raise PromptNotFound(ref.name, ref.version)
    try:
        return render(found.messages, ref.variables)
    except TemplateError as error:
        raise ApiError(400, error.message, code="invalid_value", param=error.param) from None
