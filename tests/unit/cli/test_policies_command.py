"""`fluxrouter policies test`: the rule a sample request meets, its effects, the route or the
refusal, from the configuration file alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from interfaces.cli import main

CONFIG = """
providers:
  - name: openai
    kind: openai
    base_url: https://api.example/v1
    models: [{name: gpt-4o}, {name: "*"}]
  - name: local
    kind: openai-compatible
    base_url: http://127.0.0.1:8000/v1
    models: [{name: llama3, upstream: "llama3:8b"}]
routing:
  policies:
    - {name: pii, match: {tags: pii}, effects: {pin: self_hosted}}
    - {name: baseline, effects: {max_tokens: 256}, continue: true}
    - name: interns
      match: {team: interns, model: "gpt-4*"}
      effects: {force_model: llama3, deny_providers: [openai]}
"""


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    path = tmp_path / "fluxrouter.yaml"
    path.write_text(CONFIG)
    code = main(["--config", str(path), "policies", "test", *args])
    return code, capsys.readouterr().out


def test_a_denied_request_names_the_rule_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(tmp_path, capsys, "--model", "gpt-4o", "--tags", "eu, pii", "--org", "o")
    assert code == 1
    assert "rule: pii\n" in out
    assert "  pii: pin: self_hosted\n" in out
    assert "outcome: refused, 403 policy_denied: The routing policy rule `pii`" in out


def test_continuing_rules_a_forced_model_and_the_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(tmp_path, capsys, "--model", "gpt-4o", "--team", "interns", "--key", "k")
    assert code == 0, out
    assert out.splitlines() == [
        "rules configured: 3",
        "rule: baseline",
        "  baseline: max_tokens: 256",
        "also applies: interns",
        "  interns: deny_providers: openai",
        "  interns: force_model: llama3",
        "model: llama3 (forced; asked for gpt-4o)",
        "route: local/llama3 → upstream model llama3:8b (openai-compatible)",
        "max_tokens: at most 256 output tokens",
        "outcome: allowed",
    ]


def test_a_wildcard_route_and_an_unknown_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(tmp_path, capsys, "--model", "openai/gpt-5", "--tier", "COMPLEX")
    assert code == 0
    assert "route: openai/gpt-5 (wildcard) → upstream model gpt-5 (openai)" in out
    code, out = run(tmp_path, capsys, "--model", "gpt-5")
    assert code == 1
    assert "outcome: refused, 404 model_not_found" in out
