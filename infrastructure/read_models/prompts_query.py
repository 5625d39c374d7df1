"""Moved to `infrastructure.queries.prompts` (a query, not a read model); kept for its importers
until they move."""

from infrastructure.queries.prompts import prompt_version

__all__ = ["prompt_version"]
