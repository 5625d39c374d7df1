"""In-memory fakes of every context's repositories, and a unit of work holding them all.

One module a context (`teams`, `billing`, `audit`, `conversations`, `providers`) over the
staging of `staging`; `unit` has the store and the unit of work.
"""

from tests.unit.application.fakes.unit import FakeUnitOfWork, Store, UowFactory

__all__ = ["FakeUnitOfWork", "Store", "UowFactory"]
