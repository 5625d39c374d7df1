"""The unit tests' name for the event builders of `tests.support`."""

from tests.support.events import WHEN, completion, usage
from tests.support.every_event import one_of_each

__all__ = ["WHEN", "completion", "one_of_each", "usage"]
