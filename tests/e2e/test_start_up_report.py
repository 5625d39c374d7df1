"""What `fluxrouter serve` prints as it starts and stops: the configuration file (or none), the
database and Redis (passwords masked), the providers and models, where the API docs are."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config
from tests.support.services import postgres_database

DB_PASSWORD = "db-" + secrets.token_hex(8)
REDIS_PASSWORD = "redis-" + secrets.token_hex(8)


def report(logs: str) -> list[str]:
    return [line for line in logs.splitlines() if line.startswith("fluxrouter: ")]


def assert_quiet(logs: str) -> None:
    assert "Warning" not in logs
    assert "deprecated" not in logs
    assert "Traceback" not in logs


def test_embedded_default_names_no_file_sqlite_no_redis_and_warns_of_no_models(
    tmp_path: Path,
) -> None:
    gateway = GatewayProcess(tmp_path, None, admin_key="fradm-" + secrets.token_urlsafe(32))
    gateway.start()
    try:
        lines = report(gateway.logs())
        docs = f"fluxrouter: API documentation: {gateway.base_url}/schema"
        assert docs in lines
        assert httpx.get(f"{gateway.base_url}/schema", timeout=10).status_code == 200
    finally:
        status = gateway.stop()
    logs = gateway.logs()
    lines = report(logs)
    assert lines[0].startswith("fluxrouter: configuration: none")
    # the default `./fluxrouter.db`, resolved against the directory it was started in
    assert f"fluxrouter: database: sqlite+aiosqlite:///{tmp_path / 'fluxrouter.db'}" in lines
    assert any(line.startswith("fluxrouter: redis: none") for line in lines)
    assert "fluxrouter: 0 providers, 0 models" in lines
    assert any(line.startswith("fluxrouter: warning: no models are configured") for line in lines)
    assert lines[-1] == "fluxrouter: stopped"
    assert status == 0
    assert_quiet(logs)


@pytest.mark.postgres
@pytest.mark.redis
def test_production_shape_names_the_file_and_masks_both_passwords(
    tmp_path: Path, upstream: FakeOpenAI
) -> None:
    with postgres_database() as url:
        # trust authentication ignores the password; the URL still carries one to be masked
        database_url = url.replace("//postgres@", f"//postgres:{DB_PASSWORD}@")
        config = gateway_config(
            database_url=database_url,
            redis_url=f"redis://default:{REDIS_PASSWORD}@127.0.0.1:6379/0",
            upstream_url=upstream.base_url,
            upstream_key="sk-test",
        )
        models = sum(len(provider["models"]) for provider in config["providers"])
        gateway = GatewayProcess(
            tmp_path,
            config,
            admin_key="fradm-" + secrets.token_urlsafe(32),
            upstream_key="sk-t",
            with_worker=True,
        )
        gateway.env["FLUXROUTER_REDIS_NAMESPACE"] = f"fluxrouter-test-{secrets.token_hex(4)}"
        gateway.start()
        status = gateway.stop()
    logs = gateway.logs()
    assert "fluxrouter: worker stopped" in report(gateway.worker_log_path.read_text())
    lines = report(gateway.log_path.read_text())
    assert lines[0] == f"fluxrouter: configuration: {tmp_path / 'fluxrouter.yaml'}"
    assert f"fluxrouter: database: {url.replace('//postgres@', '//postgres:***@')}" in lines
    assert "fluxrouter: redis: redis://default:***@127.0.0.1:6379/0" in lines
    assert f"fluxrouter: {len(config['providers'])} providers, {models} models" in lines
    assert not any("warning" in line for line in lines)
    assert f"fluxrouter: API documentation: {gateway.base_url}/schema" in lines
    assert lines[-1] == "fluxrouter: stopped"
    assert status == 0
    assert DB_PASSWORD not in logs
    assert REDIS_PASSWORD not in logs
    assert_quiet(logs)
