"""The admin API, one router per bounded context, and the plugin that mounts them.

Every controller is guarded by `require_admin` and takes what it needs as dependencies
(`interfaces.http.dependencies`); a router only groups a context's controllers.
"""

from __future__ import annotations

from litestar import Router
from litestar.config.app import AppConfig
from litestar.plugins import InitPlugin

from interfaces.http.admin.alerts_routes import AlertsController
from interfaces.http.admin.analytics_routes import AnalyticsController
from interfaces.http.admin.audit_routes import AuditController
from interfaces.http.admin.bodies_routes import BodiesLoggingController
from interfaces.http.admin.budgets_routes import BudgetsController
from interfaces.http.admin.conversations_routes import ConversationsController
from interfaces.http.admin.dead_letters_routes import DeadLettersController
from interfaces.http.admin.keys_routes import KeysController
from interfaces.http.admin.orgs_routes import OrgsController
from interfaces.http.admin.prices_routes import PricesController
from interfaces.http.admin.prompts_routes import PromptsController
from interfaces.http.admin.providers_routes import ProvidersController
from interfaces.http.admin.reports_routes import ReportsController
from interfaces.http.admin.requests_routes import RequestsController
from interfaces.http.admin.scim_routes import ScimController
from interfaces.http.admin.spend_routes import SpendController
from interfaces.http.admin.sso_routes import SsoController
from interfaces.http.admin.teams_routes import TeamsController
from interfaces.http.admin.users_routes import UsersController

teams = Router(
    path="/",
    route_handlers=[
        OrgsController,
        TeamsController,
        KeysController,
        BodiesLoggingController,
        UsersController,
        ScimController,
        SsoController,
    ],
)
billing = Router(
    path="/",
    route_handlers=[
        BudgetsController,
        SpendController,
        PricesController,
        ReportsController,
        RequestsController,
        AnalyticsController,
    ],
)
providers = Router(path="/", route_handlers=[ProvidersController])
conversations = Router(path="/", route_handlers=[ConversationsController, PromptsController])
audit = Router(path="/", route_handlers=[AuditController])
outbox = Router(path="/", route_handlers=[DeadLettersController, AlertsController])

CONTEXTS = (teams, billing, providers, conversations, audit, outbox)


class AdminApiPlugin(InitPlugin):
    """Mounts the admin API (`/admin/v1`), context by context."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.extend(CONTEXTS)
        return app_config
