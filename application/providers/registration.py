"""The providers context on the bus: finished calls and the configuration served, recorded."""

from __future__ import annotations

from application.bus import Registry
from application.providers.commands import RecordCompletions
from application.providers.config_audit import RecordConfig, record_config
from application.providers.handlers import record_completions


def register(registry: Registry) -> None:
    registry.handle(RecordCompletions, record_completions)
    registry.handle(RecordConfig, record_config)
