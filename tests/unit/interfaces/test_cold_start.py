"""What a process imports and builds before it is of use (docs/benchmarks/cold-start.md): the
libraries only some deployments use stay out until one does, and the accounting process builds
only what it writes with."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from application.providers.commands import RecordCompletions
from application.shared.record_events import RecordEvents
from infrastructure.settings import Settings, load_settings
from infrastructure.sso.saml_sp import SamlServiceProvider
from interfaces.accounting.composition import Accounting, compose
from interfaces.bootstrap import Container, bootstrap

ON_USE = ("saml2", "authlib", "joserfc", "bpe_openai", "hypothesis")
"""Imported where a deployment uses them: SAML, OIDC, the token counter; tests only."""


def imported_by(statement: str, modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a fresh interpreter has imported after `statement`."""
    probe = (
        f"import json, sys\n{statement}\n"
        f"print(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300
    )
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_the_serving_process_imports_what_a_deployment_without_sso_scim_redis_needs() -> None:
    app = "import interfaces.asgi, interfaces.commands.run"
    assert imported_by(app, (*ON_USE, "redis", "alembic", "scim2_models", "scim2_server")) == []


def test_the_accounting_process_imports_no_http_app_provider_client_nor_sign_in() -> None:
    child = "import interfaces.accounting.child"
    heavy = (
        *ON_USE,
        "scim2_models",
        "redis",
        "litestar",
        "aiohttp",
        "prometheus_client",
        "alembic",
    )
    assert imported_by(child, heavy) == []


def test_the_cli_reads_no_settings_to_print_its_help() -> None:
    cli = "import interfaces.cli"
    assert imported_by(cli, ("infrastructure.settings", "sqlalchemy", "msgspec")) == []


def test_pysaml2_loads_beside_once_a_saml_connection_is_read() -> None:
    probe = """
from infrastructure.sso.saml_sp import SamlServiceProvider
sp = SamlServiceProvider(key_file="k", cert_file="c", xmlsec_binary="xmlsec1")
assert "saml2" not in sys.modules
sp.load_in_background()
sp._loading.join()
"""
    assert imported_by(probe, ("saml2",)) == ["saml2"]


def test_metadata_refused_loads_nothing() -> None:
    sp = SamlServiceProvider(key_file="k", cert_file="c", xmlsec_binary="xmlsec1")
    with pytest.raises(ValueError, match="the IdP metadata"):
        sp.idp_entity_id("<not-metadata/>")
    assert sp._loading is None  # unusable metadata: no connection, nothing loaded


def settings_for(tmp_path: Path, **environ: str) -> Settings:
    environ = {
        "FLUXROUTER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cold.db",
        "FLUXROUTER_AUDIT_SIGNING_KEY_FILE": str(tmp_path / "audit.key"),
        **environ,
    }
    settings, _ = load_settings(None, environ=environ, cwd=tmp_path)
    return settings


def subscribers_of(bus: Any) -> dict[str, set[str]]:
    """Each event type's subscribers, by name."""

    def name(subscriber: Any) -> str:
        return str(getattr(subscriber, "func", subscriber).__qualname__)

    return {kind.__name__: {name(s) for s in found} for kind, found in bus._subscribers.items()}


PROCESS_LOCAL = {
    "when_key_revoked_forget_key",
    "when_user_deactivated_forget_keys",
    "when_bodies_logging_set_forget_keys",
}
"""Subscribers that only forget keys in a process's authentication cache: the accounting
process authenticates no one."""


@pytest.fixture(params=[None, "redis://127.0.0.1:6379/0"], ids=["embedded", "redis"])
def both(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Container, Accounting]]:
    environ = {"FLUXROUTER_REDIS_URL": request.param} if request.param else {}
    settings = settings_for(tmp_path, **environ)
    container, accounting = bootstrap(settings), compose(settings)
    yield container, accounting
    for engines in (container, accounting):
        engines.sync_engine.dispose()


def test_the_accounting_process_handles_the_two_commands_it_is_sent(
    both: tuple[Container, Accounting],
) -> None:
    container, accounting = both
    assert {RecordCompletions, RecordEvents} <= set(accounting.bus._handlers)
    assert accounting.bus._whole == container.bus._whole == {RecordCompletions, RecordEvents}


def test_an_event_the_accounting_process_publishes_again_reaches_what_a_serving_process_would(
    both: tuple[Container, Accounting],
) -> None:
    """Its outbox relay may be the one that publishes an event again (a sweep): every
    subscriber that acts beyond one process is there."""
    container, accounting = both
    serving, child = subscribers_of(container.bus), subscribers_of(accounting.bus)
    for kind, names in serving.items():
        assert names - PROCESS_LOCAL <= child.get(kind, set()), kind
    assert child["Event"] == {"when_event_append_audit"}
    assert container.embedded_worker == accounting.embedded_worker
