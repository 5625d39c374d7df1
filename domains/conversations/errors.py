"""Why a conversation or a prompt could not be used."""

from __future__ import annotations

from domains.shared.errors import NotFound


class ConversationNotFound(NotFound):
    """Also for a conversation of someone else: ids cannot be probed."""

    code = "conversation_not_found"

    def __init__(self) -> None:
        super().__init__("There is no such conversation.")


class PromptNotFound(NotFound):
    code = "prompt_not_found"

    def __init__(self, name: str, version: int | None = None) -> None:
        shown = name if len(name) <= 200 else name[:200] + "…"
        which = f" version {version}" if version is not None else ""
        super().__init__(f"The team has no prompt `{shown}`{which}.")


class ResponseNotFound(NotFound):
    """Also for a response of another org, or past its retention: ids cannot be probed."""

    code = "response_not_found"

    def __init__(self, response_id: str) -> None:
        shown = response_id if len(response_id) <= 200 else response_id[:200] + "…"
        super().__init__(f"Response with id '{shown}' not found.")
