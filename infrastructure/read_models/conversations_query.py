"""Moved to `infrastructure.queries.conversations` (a query, not a read model); kept for its
importers until they move."""

from infrastructure.queries.conversations import history_of

__all__ = ["history_of"]
