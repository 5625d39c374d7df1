"""Why a call to a model did not succeed. Messages never carry a provider key."""

from __future__ import annotations

from collections.abc import Mapping

from domains.providers.upstream_failures import ANSWERS, KEEPS_RETRY_AFTER, Condition
from domains.shared.errors import DomainError, Forbidden, NotFound


class UnknownModel(NotFound):
    code = "model_not_found"

    def __init__(self, requested: str) -> None:
        shown = requested if len(requested) <= 200 else requested[:200] + "…"
        super().__init__(f"The model `{shown}` does not exist or you do not have access to it.")


class ModelNotAllowed(Forbidden):
    code = "model_not_allowed"

    def __init__(self, requested: str) -> None:
        super().__init__(f"This key may not use the model `{requested}`.")


class UpstreamError(DomainError):
    """The upstream answered with an error, or could not be reached in time.

    `condition` says which (see `upstream_failures`); the status, the OpenAI error `type` and
    `code` every interface answers with come from its row of the one table.
    """

    def __init__(
        self,
        condition: Condition,
        message: str,
        *,
        param: str | None = None,
        retry_after: str | None = None,
        upstream_status: int | None = None,
        content_refused: bool = False,
    ) -> None:
        super().__init__(message)
        answer = ANSWERS[condition]
        self.condition = condition
        self.status = answer.status
        self.error_type = answer.type
        self.code = answer.code
        self.anthropic_status = answer.anthropic_status
        self.anthropic_type = answer.anthropic_type
        self.param = param
        self.retry_after = retry_after if condition in KEEPS_RETRY_AFTER else None
        self.upstream_status = upstream_status
        self.route_headers: Mapping[str, str] = {}
        """How the request that ends in this error was routed (the `x-fluxrouter-*` headers of
        its answer): the attempts made and the last deployment tried, once routing gave up."""
        self.content_refused = content_refused
        """The upstream refused the request for its content (OpenAI's `content_policy_violation`
        400): the routing's `content_policy_fallbacks` may answer it instead."""


class InvalidRequest(DomainError):
    """The client's request is not valid; `param` names the offending field when known."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param
