"""The named dependencies a route handler may take, provided by Litestar (`Provide`).

`ContainerPlugin` keeps the composition root in the app's state and declares, on the app, one
dependency per thing a controller needs from it: a handler names `bus`, `engine`, `settings`...
as parameters and gets them, never the container itself. Admin handlers also take `principal`
(who the admin guard authenticated) and `visible` (the lookups scoped to that principal); the
`/v1` handlers take `key_holder` (who their virtual key names) and `completions` (the Gemini
front door `gemini_key`, its key checked when it asks). A
dependency is resolved only for the handlers that name it, and none of them reaches the
OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.params import SkipValidation
from litestar.plugins import InitPlugin
from sqlalchemy.ext.asyncio import AsyncEngine

from application.bus import MessageBus
from application.providers.completions.pipeline import CompletionPipeline
from domains.billing.budget import BudgetLedger
from domains.providers.model import Catalog
from domains.providers.ports import ProviderClient
from domains.shared.caller import Caller as KeyCaller
from infrastructure.audit.checkpointer import Checkpointer
from infrastructure.messaging.outbox_relay import OutboxRelay
from infrastructure.observability.metrics import Metrics
from infrastructure.security.audit_signing import SigningKey
from infrastructure.settings import Settings
from infrastructure.tokens.bpe_prompt_counter import BpePromptCounter
from interfaces.bootstrap import Container
from interfaces.http.admin.principal import Principal, principal_of
from interfaces.http.admin.scoping import Visibility
from interfaces.http.container import bearer_token, client_host
from interfaces.http.gemini.key import GeminiKey
from interfaces.http.openai.auth import CACHE_HEADER, TAGS_HEADER, authenticate_secret
from interfaces.http.responses.create import ResponsesServices
from interfaces.sso_wiring import SsoServices
from interfaces.ws.responses.route_source import RouteSource
from interfaces.ws.responses.services import ResponsesSocketServices
from interfaces.ws.services import ChatServices

# What a handler's parameters are annotated with. Each is passed as provided, never validated
# or converted on the way in (`SkipValidation`): they are the server's own objects.
Bus = SkipValidation[MessageBus]
Engine = SkipValidation[AsyncEngine]
AppSettings = SkipValidation[Settings]
ModelCatalog = SkipValidation[Catalog]
ProviderClients = SkipValidation[dict[str, ProviderClient]]
Relay = SkipValidation[OutboxRelay]
MetricsRegistry = SkipValidation[Metrics]
Sso = SkipValidation[SsoServices | None]
AuditKey = SkipValidation[SigningKey | None]
Checkpoints = SkipValidation[Checkpointer | None]
Ledger = SkipValidation[BudgetLedger | None]
Caller = SkipValidation[Principal]
"""The principal the admin guard authenticated."""
Visible = SkipValidation[Visibility]
"""The directory's records as the principal may see them."""
Completions = SkipValidation[CompletionPipeline]
"""Every completion, embedding and token count, whichever front door asked."""
Responses = SkipValidation[ResponsesServices]
"""What creating and storing responses takes (`/v1/responses`)."""
WsChat = SkipValidation[ChatServices]
"""What the WebSocket chat is served with (`/v1/ws`)."""
WsResponses = SkipValidation[ResponsesSocketServices]
"""What the Responses WebSocket is served with (`GET /v1/responses` upgraded)."""
KeyHolder = SkipValidation[KeyCaller]
"""Who the virtual key in `Authorization: Bearer` or `x-api-key` names (`/v1`); resolving it
refuses a missing, unknown or revoked key (401) or a throttled address (429)."""
GeminiKeyCheck = SkipValidation[GeminiKey]
"""The Gemini front door's virtual key (`x-goog-api-key`, `?key=`...), checked when the handler
asks (`GeminiKey.caller`)."""
TokenCounter = SkipValidation[BpePromptCounter]
"""The gateway's own prompt estimate (what budgets reserve by)."""


def _provided(container: Container) -> dict[str, Provide]:
    def bus() -> MessageBus:
        return container.bus

    def engine() -> AsyncEngine:
        return container.engine

    def settings() -> Settings:
        return container.settings

    def catalog() -> Catalog:
        return container.catalog

    def clients() -> dict[str, ProviderClient]:
        return container.clients

    def relay() -> OutboxRelay:
        return container.relay

    def metrics() -> Metrics:
        return container.metrics

    def sso() -> SsoServices | None:  # set while the container starts
        return container.sso

    def audit_key() -> SigningKey | None:  # loaded while the container starts
        return container.audit_key

    def checkpointer() -> Checkpointer | None:
        return container.checkpointer

    def ledger() -> BudgetLedger | None:
        # what requests in flight have reserved (absent: a composition without one)
        ledger: BudgetLedger | None = getattr(container, "ledger", None)
        return ledger

    def completions() -> CompletionPipeline:
        return container.completions

    def token_counter() -> BpePromptCounter:
        return container.limits.counter

    def gemini_key(request: Request[Any, Any, Any]) -> GeminiKey:
        return GeminiKey(container, request)

    def chat_services() -> ChatServices:
        return ChatServices(
            settings=container.settings,
            metrics=container.metrics,
            completions=container.completions,
            bus=container.bus,
            engine=container.engine,
            authenticator=container.authenticator,
            sessions=container.sessions,
            ws_keys=container.ws_keys,
        )

    def responses() -> ResponsesServices:
        return responses_of(container)

    def responses_socket_services() -> ResponsesSocketServices:
        return ResponsesSocketServices(chat=chat_services(), create=RouteSource(responses()))

    def principal(request: Request[Any, Any, Any]) -> Principal:
        return principal_of(request)

    def visible(request: Request[Any, Any, Any]) -> Visibility:
        return Visibility(container.engine, principal_of(request))

    async def key_holder(request: Request[Any, Any, Any]) -> KeyCaller:
        # `x-goog-api-key`: the google-genai SDK's, on the model listing it shares with OpenAI's
        secret = bearer_token(request, x_api_key=True) or request.headers.get("x-goog-api-key")
        return await authenticate_secret(
            container,
            secret,
            client_host(request),
            request.headers.get(TAGS_HEADER),
            request.headers.get(CACHE_HEADER),
        )

    provided = {
        provider.__name__: Provide(provider, sync_to_thread=False)
        for provider in (
            bus,
            engine,
            settings,
            catalog,
            clients,
            relay,
            metrics,
            sso,
            audit_key,
            checkpointer,
            ledger,
            completions,
            token_counter,
            gemini_key,
            chat_services,
            responses,
            responses_socket_services,
            principal,
            visible,
        )
    }
    provided["key_holder"] = Provide(key_holder)
    return provided


def responses_of(container: Container) -> ResponsesServices:
    """The container's one `ResponsesServices` (its store gathers the responses of every request
    into group commits), built at the first request that needs it, for Litestar's routes and the
    direct one alike."""
    if container.responses is None:
        container.responses = ResponsesServices(
            completions=container.completions,
            bus=container.bus,
            engine=container.engine,
            retention_days=container.settings.responses.retention_days,
            write_responses=container.accounting.handle if container.accounting else None,
        )
    return container.responses


class ContainerPlugin(InitPlugin):
    """The container in the app's state (for guards and middleware, which take no
    dependencies) and its parts as the app's dependencies."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.state.container = self.container
        app_config.dependencies.update(_provided(self.container))
        return app_config
