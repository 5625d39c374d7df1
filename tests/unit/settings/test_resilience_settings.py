"""`routing.content_policy_fallbacks` and `routing.health_probes` as the loader reads them: the
defaults (off), a full section, and a clear one-line error for each rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrastructure.settings import Settings
from tests.unit.settings.test_settings_loader import PROVIDER, error, load

ENV = {"OPENAI_API_KEY": "sk-test"}


def test_both_are_off_by_default() -> None:
    routing = Settings().routing
    assert routing.content_policy_fallbacks == {}
    probes = routing.health_probes
    assert probes.enabled is False
    assert (probes.interval_seconds, probes.timeout_seconds) == (30.0, 5.0)
    assert probes.probe == "models"
    assert probes.kind_for("openai", "gpt-4o-mini") == "models"


def test_a_full_section_loads(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        PROVIDER
        + """\
      - name: gpt-4o
routing:
  content_policy_fallbacks: {gpt-4o-mini: [gpt-4o], openai/gpt-4o: [gpt-4o-mini]}
  health_probes:
    enabled: true
    interval_seconds: 10
    timeout_seconds: 2
    probe: completion
    models: {gpt-4o-mini: models, openai/gpt-4o: "off"}
    prompt: are you there?
""",
        ENV,
    )
    routing = settings.routing
    assert routing.content_policy_fallbacks == {
        "gpt-4o-mini": ["gpt-4o"],
        "openai/gpt-4o": ["gpt-4o-mini"],
    }
    probes = routing.health_probes
    assert probes.enabled
    assert probes.kind_for("openai", "gpt-4o-mini") == "models"
    assert probes.kind_for("openai", "gpt-4o") == "off"
    assert probes.kind_for("other", "gpt-4o") == "completion"
    assert probes.prompt == "are you there?"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "content_policy_fallbacks: {gpt-4o-mini: [nope]}",
            "routing.content_policy_fallbacks: names the model `nope`, which no provider declares",
        ),
        (
            "content_policy_fallbacks: {gpt-4o-mini: [gpt-4o-mini]}",
            "routing.content_policy_fallbacks.gpt-4o-mini: must not fall back to itself",
        ),
        (
            "health_probes: {interval_seconds: 1, timeout_seconds: 2}",
            "routing.health_probes.timeout_seconds: must not be above interval_seconds",
        ),
        (
            "health_probes: {probe: sometimes}",
            "routing.health_probes.probe: ",
        ),
        (
            "health_probes: {models: {nope: completion}}",
            "routing.health_probes.models: names the model `nope`, which no provider declares",
        ),
        (
            "health_probes: {interval: 3}",
            "routing.health_probes.interval: unknown key",
        ),
    ],
)
def test_a_bad_value_is_a_one_line_error_naming_its_key(
    tmp_path: Path, section: str, message: str
) -> None:
    said = error(tmp_path, PROVIDER + "routing:\n  " + section + "\n", ENV)
    assert said.startswith("fluxrouter.yaml: " + message), said
