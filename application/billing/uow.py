"""The unit of work of the billing context: the usage ledger and the limits."""

from __future__ import annotations

from typing import Protocol

from application.shared.uow import UnitOfWork
from domains.billing.ports import LimitsRepository, UsageLedger


class BillingUnitOfWork(UnitOfWork, Protocol):
    usage: UsageLedger
    limits: LimitsRepository
