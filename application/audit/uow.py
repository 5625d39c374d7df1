"""The unit of work of the audit context: the hash-chained audit log."""

from __future__ import annotations

from typing import Protocol

from application.shared.uow import UnitOfWork
from domains.audit.ports import AuditLog


class AuditUnitOfWork(UnitOfWork, Protocol):
    audit: AuditLog
