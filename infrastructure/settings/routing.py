"""`routing`: how a request's model becomes the deployment that answers it."""

from __future__ import annotations

import msgspec


class RoutingSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Every key is optional; an empty `routing` section routes as the providers declare."""
