"""Why a call to a model did not succeed. Messages never carry a provider key."""

from __future__ import annotations

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

    `status` is what the gateway answers: an upstream 4xx keeps its status, a 5xx is 502,
    a timeout 504, an unreachable upstream 502.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "upstream_error",
        code: str | None = None,
        param: str | None = None,
        retry_after: str | None = None,
        upstream_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.code = code or "upstream_error"
        self.param = param
        self.retry_after = retry_after
        self.upstream_status = upstream_status


class InvalidRequest(DomainError):
    """The client's request is not valid; `param` names the offending field when known."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param
