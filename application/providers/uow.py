"""The unit of work of the providers context: the record of the configuration served."""

from __future__ import annotations

from typing import Protocol

from application.shared.uow import UnitOfWork
from domains.providers.config_change import ConfigRecord


class ProvidersUnitOfWork(UnitOfWork, Protocol):
    config: ConfigRecord
