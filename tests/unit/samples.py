"""The unit tests' name for the event builders of `tests.support.events`."""

from tests.support.events import WHEN, completion, one_of_each, usage

__all__ = ["WHEN", "completion", "one_of_each", "usage"]
