"""A pure ASGI middleware: request id (x-request-id in and out), metrics and the access log."""

from __future__ import annotations

import re
import time
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from domains.shared.ids import new_id
from infrastructure.observability.logging import log_request
from infrastructure.observability.metrics import Metrics
from infrastructure.security.redaction import looks_like_secret
from interfaces.http.gemini.paths import route_label as gemini_label

_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_KNOWN = frozenset(
    {
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/models",
        "/v1/ws",
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/healthz",
        "/readyz",
        "/metrics",
        "/schema/openapi.json",
    }
)


def route_label(path: str) -> str:
    if path in _KNOWN:
        return path
    parts = path.split("/")
    if path.startswith("/admin/v1/") and len(parts) > 3:
        return "/".join(parts[:4])
    if path.startswith(("/scim/v2/", "/auth/")) and len(parts) > 2:
        return "/".join(parts[:3])
    return gemini_label(path) or "other"


def request_id_from(scope: Scope) -> str:
    """The client's `x-request-id` when it is a sane id (1 to 64 of `A-Za-z0-9._:-`) that is not
    shaped like a key or token (the id is logged, echoed and stored with the call); otherwise
    one of ours."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _VALID_ID.fullmatch(text) and not looks_like_secret(text):
                return text
            break
    return new_id()


class RequestContextMiddleware:
    """`direct` maps a (method, path) to the ASGI app serving it without Litestar's router."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        direct: dict[tuple[str, str], ASGIApp] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.direct = direct or {}
        # each label set's child metric, looked up once (`labels()` locks and validates)
        self._latency: dict[str, Any] = {}
        self._requests: dict[tuple[str, str, int], Any] = {}

    def _observe_latency(self, label: str, seconds: float) -> None:
        child = self._latency.get(label)
        if child is None:
            child = self._latency[label] = self.metrics.latency.labels(label)
        child.observe(seconds)

    def _count(self, label: str, method: str, status: int) -> None:
        child = self._requests.get((label, method, status))
        if child is None:
            child = self.metrics.requests.labels(label, method, str(status))
            self._requests[(label, method, status)] = child
        child.inc()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        path = scope["path"]
        label = route_label(path)
        target = self.direct.get((method, path))
        routed = target is not None
        if target is None:
            target = self.app
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status, label
            if message["type"] == "http.response.start":
                status = message["status"]
                # no route matched: keep label cardinality bounded
                if not routed and "route_handler" not in scope:
                    label = "other"
                headers: Any = list(message.get("headers", ()))
                headers.append(header)
                message["headers"] = headers
                self._observe_latency(label, time.perf_counter() - started)
            await send(message)

        try:
            await target(scope, receive, send_with_id)
        finally:
            self._count(label, method, status)
            log_request(
                method, path, status, round((time.perf_counter() - started) * 1000, 2), request_id
            )
            structlog.contextvars.unbind_contextvars("request_id")
