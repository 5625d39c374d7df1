"""What a serving process loads after it has started, in a thread of its own, rather than
before it answers: the parts of the app that only some deployments use and that take seconds
to import. Each is loaded only where it is in use, so that its first request does not wait
for it (nor, imported on the event loop, hold every other request meanwhile).

- SCIM (scim2's models and protocol engine), where an org holds a SCIM token.

pysaml2 is loaded the same way by single sign-on's start where a SAML connection exists
(`interfaces.sso_wiring`).
"""

from __future__ import annotations

import threading

import structlog
from sqlalchemy import Engine, select

from infrastructure.db.tables import scim_tokens

log = structlog.get_logger("fluxrouter.gateway")


def warm_in_background(sync_engine: Engine) -> threading.Thread:
    thread = threading.Thread(target=_warm, args=(sync_engine,), name="warm-up", daemon=True)
    thread.start()
    return thread


def _warm(sync_engine: Engine) -> None:
    try:
        if _scim_in_use(sync_engine):
            from interfaces.http.scim import routes

            routes.service()
    except Exception:  # the first request loads what this could not
        log.warning("gateway.warm_up_failed", exc_info=True)


def _scim_in_use(sync_engine: Engine) -> bool:
    query = select(scim_tokens.c.id).where(scim_tokens.c.revoked_at.is_(None)).limit(1)
    with sync_engine.connect() as conn:
        return conn.execute(query).first() is not None
