"""Every command the gateway routes has a bus-level test: each module of handler tests names the
commands it sends (`TESTED`), and their union must be every command of the registry."""

from __future__ import annotations

from tests.unit.application import (
    test_billing_handlers,
    test_conversations_handlers,
    test_directory_handlers,
    test_recording_handlers,
    test_sso_handlers,
    test_stored_responses_handlers,
    test_team_management_handlers,
)
from tests.unit.application.bus_harness import registry

MODULES = (
    test_billing_handlers,
    test_conversations_handlers,
    test_directory_handlers,
    test_recording_handlers,
    test_sso_handlers,
    test_stored_responses_handlers,
    test_team_management_handlers,
)


def test_every_registered_command_has_a_handler_test() -> None:
    tested = set().union(*(module.TESTED for module in MODULES))
    routed = set(registry().handlers)
    untested = sorted(command.__name__ for command in routed - tested)
    assert untested == [], f"commands without a bus-level handler test: {untested}"
    gone = sorted(command.__name__ for command in tested - routed)
    assert gone == [], f"tested commands the registry no longer routes: {gone}"


def test_no_command_is_claimed_by_two_modules() -> None:
    claimed = [command for module in MODULES for command in module.TESTED]
    assert len(claimed) == len(set(claimed))
