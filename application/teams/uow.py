"""The unit of work of the teams context: organisations, teams, keys, people, directory, SSO."""

from __future__ import annotations

from typing import Protocol

from application.shared.uow import UnitOfWork
from domains.teams.ports import (
    AdminTokenRepository,
    DashboardSessionRepository,
    GroupRepository,
    KeyRepository,
    OrgRepository,
    ScimTokenRepository,
    SsoConnectionRepository,
    SsoIdentityRepository,
    TeamRepository,
    UserRepository,
)


class TeamsUnitOfWork(UnitOfWork, Protocol):
    orgs: OrgRepository
    teams: TeamRepository
    keys: KeyRepository
    users: UserRepository
    admin_tokens: AdminTokenRepository
    groups: GroupRepository
    scim_tokens: ScimTokenRepository
    sso_connections: SsoConnectionRepository
    sso_identities: SsoIdentityRepository
    dashboard_sessions: DashboardSessionRepository
