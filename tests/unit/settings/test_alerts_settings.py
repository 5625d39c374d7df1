"""`alerts`: what a webhook may ask for, names once each, URLs never echoed in an error (they
may hold a token), and the secrets and URLs scrubbed from the logs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infrastructure.settings import ConfigError, load_settings
from interfaces.common_wiring import redactor_for


def _load(tmp_path: Path, alerts: dict[str, object]) -> object:
    config = tmp_path / "fluxrouter.yaml"
    config.write_text(yaml.safe_dump({"alerts": alerts}))
    return load_settings(str(config), environ={"HOOK_SECRET": "whsec-abcdef123456"}, cwd=tmp_path)[
        0
    ]


def test_a_webhook_reads_its_secret_from_the_environment(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        {
            "webhooks": [
                {"name": "ops", "url": "https://ops.example.com/h", "secret": "${HOOK_SECRET}"}
            ]
        },
    )
    (hook,) = settings.alerts.webhooks  # type: ignore[attr-defined]
    assert (hook.secret, hook.events, hook.format) == ("whsec-abcdef123456", ["*"], "json")


@pytest.mark.parametrize(
    ("alerts", "problem"),
    [
        ({"webhooks": [{"name": "a", "url": "ftp://x/y"}]}, r"must be an http\(s\) URL"),
        (
            {"webhooks": [{"name": "a", "url": "https://x/", "events": ["budget.spent"]}]},
            "budget.spent",
        ),
        ({"webhooks": [{"name": "a", "url": "https://x/", "events": []}]}, "at least one event"),
        ({"webhooks": [{"name": "a", "url": "https://x/", "format": "teams"}]}, "format"),
        (
            {"webhooks": [{"name": "a", "url": "https://x/"}, {"name": "a", "url": "https://y/"}]},
            "duplicate webhook name",
        ),
        ({"error_rate_share": 2}, "error_rate_share"),
    ],
)
def test_a_wrong_webhook_is_a_clear_error(
    tmp_path: Path, alerts: dict[str, object], problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        _load(tmp_path, alerts)


def test_a_refused_url_is_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, {"webhooks": [{"name": "a", "url": "ftp://hooks/T0/B0/sEcReTtOkEn"}]})
    assert "sEcReTtOkEn" not in str(refused.value)


def test_the_secrets_and_urls_are_scrubbed_from_the_logs(tmp_path: Path) -> None:
    url = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"
    settings = _load(
        tmp_path,
        {"webhooks": [{"name": "chat", "url": url, "secret": "${HOOK_SECRET}", "format": "slack"}]},
    )
    redact = redactor_for(settings)  # type: ignore[arg-type]
    line = redact(f"posting to {url} with whsec-abcdef123456")
    assert url not in line
    assert "whsec-abcdef123456" not in line
