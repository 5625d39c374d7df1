"""The unit of work of the billing context: the usage ledger, the request log and the
limits."""

from __future__ import annotations

from typing import Protocol

from application.shared.uow import UnitOfWork
from domains.billing.ports import LimitsRepository, RequestLog, UsageLedger


class BillingUnitOfWork(UnitOfWork, Protocol):
    usage: UsageLedger
    requests: RequestLog
    limits: LimitsRepository
