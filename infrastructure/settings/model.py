"""The shape of FluxRouter's configuration: the root struct, and every section's struct
re-exported from the module that declares it.

Every struct is frozen and rejects unknown fields, so a typo in the YAML file is an error.
Defaults here are the defaults of the documented ``fluxrouter.yaml``. A field's constraints
are declared on its type (``infrastructure.settings.rules``), so ``msgspec.convert`` refuses
a bad value with the path of its key.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from infrastructure.settings.alerts import AlertsSettings
from infrastructure.settings.audit import AuditSettings
from infrastructure.settings.background import AccountingSettings, OutboxSettings, WorkerSettings
from infrastructure.settings.billing import BillingSettings
from infrastructure.settings.cache import CacheSettings
from infrastructure.settings.outbound import ImageFetchSettings, OutboundSettings
from infrastructure.settings.providers import ModelSettings, Price, ProviderSettings, Timeouts
from infrastructure.settings.request_log import PiiPatternSettings, RequestLogSettings
from infrastructure.settings.responses import ResponsesSettings
from infrastructure.settings.routing import RoutingSettings, check_routing_models
from infrastructure.settings.routing_policies import check_policy_providers
from infrastructure.settings.routing_virtual import check_virtual_models
from infrastructure.settings.rules import Invalid, check_unique, without_userinfo
from infrastructure.settings.scim import ScimGroupMapping, ScimSettings
from infrastructure.settings.server import ServerSettings, WebSocketSettings
from infrastructure.settings.sso import SsoConnectionSettings, SsoSettings
from infrastructure.settings.stores import DatabaseSettings, RedisSettings

__all__ = [
    "AccountingSettings",
    "AdminSettings",
    "AuditSettings",
    "BillingSettings",
    "DatabaseSettings",
    "ImageFetchSettings",
    "LoggingSettings",
    "ModelSettings",
    "OutboundSettings",
    "OutboxSettings",
    "PiiPatternSettings",
    "Price",
    "ProviderSettings",
    "RedisSettings",
    "RequestLogSettings",
    "ResponsesSettings",
    "RoutingSettings",
    "ScimGroupMapping",
    "ScimSettings",
    "ServerSettings",
    "Settings",
    "SsoConnectionSettings",
    "SsoSettings",
    "Timeouts",
    "WebSocketSettings",
    "WorkerSettings",
    "without_userinfo",
]


class AdminSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    key: str = ""
    """Empty: a key is generated once and printed at first start."""


class LoggingSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "console"] = "json"
    log_prompts: bool = False


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    redis: RedisSettings = msgspec.field(default_factory=RedisSettings)
    admin: AdminSettings = msgspec.field(default_factory=AdminSettings)
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    workers: WorkerSettings = msgspec.field(default_factory=WorkerSettings)
    accounting: AccountingSettings = msgspec.field(default_factory=AccountingSettings)
    billing: BillingSettings = msgspec.field(default_factory=BillingSettings)
    audit: AuditSettings = msgspec.field(default_factory=AuditSettings)
    outbox: OutboxSettings = msgspec.field(default_factory=OutboxSettings)
    websocket: WebSocketSettings = msgspec.field(default_factory=WebSocketSettings)
    scim: ScimSettings = msgspec.field(default_factory=ScimSettings)
    sso: SsoSettings = msgspec.field(default_factory=SsoSettings)
    outbound: OutboundSettings = msgspec.field(default_factory=OutboundSettings)
    alerts: AlertsSettings = msgspec.field(default_factory=AlertsSettings)
    responses: ResponsesSettings = msgspec.field(default_factory=ResponsesSettings)
    cache: CacheSettings = msgspec.field(default_factory=CacheSettings)
    request_log: RequestLogSettings = msgspec.field(default_factory=RequestLogSettings)
    routing: RoutingSettings = msgspec.field(default_factory=RoutingSettings)
    providers: list[ProviderSettings] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        names = [provider.name for provider in self.providers]
        check_unique("providers[{}].name", names, "provider name")
        check_policy_providers(self.routing.policies, names)
        declared = [
            name
            for provider in self.providers
            for model in provider.models
            for name in (model.name, f"{provider.name}/{model.name}")
        ]
        wildcards = [
            provider.name
            for provider in self.providers
            if any(model.name == "*" for model in provider.models)
        ]
        check_routing_models(self.routing, declared, wildcards)
        check_semantic_embeddings(self.cache.semantic.embeddings, self.providers)
        routing = self.routing
        check_virtual_models(
            routing.builtin_virtual_models,
            routing.virtual_models,
            routing.tiers,
            routing.quality,
            routing.never_virtual,
            [
                (provider.name, model.name)
                for provider in self.providers
                for model in provider.models
            ],
        )


def check_semantic_embeddings(embeddings: str, providers: list[ProviderSettings]) -> None:
    """`cache.semantic.embeddings`: `local`, or a model of a provider that serves OpenAI's
    `/embeddings`."""
    if embeddings == "local":
        return
    provider, _, model = embeddings.partition("/")
    kinds = {p.name: p.kind for p in providers}
    if not model or kinds.get(provider) not in ("openai", "openai-compatible"):
        raise Invalid(
            "cache.semantic.embeddings",
            "is `local`, or `<provider>/<model>` of a configured provider of kind `openai` or "
            "`openai-compatible`",
        )
