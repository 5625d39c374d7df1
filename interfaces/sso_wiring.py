"""Single sign-on's parts, built from settings: the session store (Redis when configured, else
the database), the single-use state store, the OIDC client, the SAML service provider, and the
box that seals client secrets (its key read, or generated, at start).
pysaml2 is loaded only where a SAML connection exists (in the background from the start, or
when one is declared or created), or when a SAML route is called.

At start the connections the configuration file declares are created, or made what it says.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from application.bus import MessageBus
from application.teams.dashboard_sessions import SessionStore
from application.teams.sso_commands import DeclareSsoConnection
from domains.shared.errors import DomainError
from infrastructure.net.outbound import OutboundPolicy
from infrastructure.queries.sso import connection_by_id, connections_of
from infrastructure.security.secret_box import SealError, SecretBox, ensure_secret_box
from infrastructure.settings import Settings
from infrastructure.settings.model import SsoConnectionSettings
from infrastructure.sso.oidc_client import OidcClient
from infrastructure.sso.one_time import OneTimeStore
from infrastructure.sso.saml_sp import SamlServiceProvider
from infrastructure.sso.session_stores import RedisSessionStore, SqlSessionStore
from infrastructure.sso.sessions import DashboardSessions

CLIENT_SECRET_PURPOSE = "sso.oidc.client_secret"


@dataclass
class SsoServices:
    sessions: DashboardSessions
    one_time: OneTimeStore
    oidc: OidcClient
    saml: SamlServiceProvider
    secret_key_file: str
    login_timeout: float
    declared: list[SsoConnectionSettings]
    sessions_in_database: bool
    """Without Redis the sessions live in the database, and end in the deactivation's own
    transaction."""
    box: SecretBox | None = None

    @property
    def secrets(self) -> SecretBox:
        if self.box is None:
            raise RuntimeError("SSO is used before the gateway started")
        return self.box

    def seal_client_secret(self, secret: str) -> str:
        return self.secrets.seal(secret, purpose=CLIENT_SECRET_PURPOSE)

    def open_client_secret(self, sealed: str) -> str:
        return self.secrets.open(sealed, purpose=CLIENT_SECRET_PURPOSE)

    async def start(self, bus: MessageBus, engine: AsyncEngine) -> None:
        self.box, _ = ensure_secret_box(self.secret_key_file)
        self.saml.ensure_keys()
        for index, declared in enumerate(self.declared):
            try:
                await bus.handle(await self._declaration(declared, engine))
            except (DomainError, ValueError, OSError) as error:
                message = getattr(error, "message", None) or str(error)
                raise RuntimeError(f"sso.connections[{index}] ({declared.id}): {message}") from None
        if any(connection.kind == "saml" for connection in await connections_of(engine, None)):
            self.saml.load_in_background()  # ready for the first sign-in; never without SAML

    async def _declaration(
        self, declared: SsoConnectionSettings, engine: AsyncEngine
    ) -> DeclareSsoConnection:
        settings: dict[str, Any] = {
            "groups_claim": declared.groups_claim,
            "role_map": declared.role_map,
            "default_role": declared.default_role,
        }
        if declared.kind == "oidc":
            settings |= {"issuer": declared.issuer, "client_id": declared.client_id}
            if declared.scopes is not None:
                settings["scopes"] = tuple(declared.scopes)
            existing = await connection_by_id(engine, declared.id)
            if not self._holds(existing.client_secret_sealed if existing else None, declared):
                settings["client_secret_sealed"] = self.seal_client_secret(
                    declared.client_secret or ""
                )
        else:
            xml = declared.idp_metadata_xml
            if xml is None:
                path = Path(declared.idp_metadata_file or "")
                xml = await asyncio.to_thread(path.read_text, encoding="utf-8")
            settings |= {
                "idp_metadata_xml": xml,
                "idp_entity_id": self.saml.idp_entity_id(xml),
            }
        return DeclareSsoConnection(
            connection_id=declared.id, org_id=declared.org, kind=declared.kind, settings=settings
        )

    def _holds(self, sealed: str | None, declared: SsoConnectionSettings) -> bool:
        if sealed is None:
            return False
        try:
            return self.open_client_secret(sealed) == declared.client_secret
        except SealError:
            return False

    async def stop(self) -> None:
        await self.oidc.close()
        await self.sessions.store.close()


def build_sso(settings: Settings, engine: AsyncEngine) -> SsoServices:
    sso = settings.sso
    store: SessionStore
    if settings.redis.url:
        store = RedisSessionStore(settings.redis.url, settings.redis.namespace)
    else:
        store = SqlSessionStore(engine)
    xmlsec = sso.xmlsec_binary or shutil.which("xmlsec1") or "xmlsec1"
    return SsoServices(
        sessions=DashboardSessions(
            store, idle=sso.session_idle_seconds, absolute=sso.session_absolute_seconds
        ),
        one_time=OneTimeStore(engine),
        oidc=OidcClient(OutboundPolicy(settings.outbound.allow)),
        saml=SamlServiceProvider(
            key_file=sso.saml_key_file, cert_file=sso.saml_cert_file, xmlsec_binary=xmlsec
        ),
        secret_key_file=sso.secret_key_file,
        login_timeout=sso.login_timeout_seconds,
        declared=list(sso.connections),
        sessions_in_database=isinstance(store, SqlSessionStore),
    )
