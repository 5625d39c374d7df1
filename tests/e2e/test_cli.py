"""The command line as a user meets it: version, and a bad configuration file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FLUXROUTER = str(Path(sys.executable).parent / "fluxrouter")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLUXROUTER, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )


def test_version(tmp_path: Path) -> None:
    result = run("version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("fluxrouter ")


def test_a_bad_config_stops_start_up_with_one_line_naming_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "fluxrouter.yaml").write_text("server:\n  port: eighty\nproviders: []\n")
    result = run("serve", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "fluxrouter.yaml" in lines[0]
    assert "server.port" in lines[0]
    assert not (tmp_path / "fluxrouter.db").exists(), "nothing may start on a bad config"


def test_an_unset_variable_is_named(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "providers:\n  - name: openai\n    kind: openai\n    base_url: https://api.openai.com/v1\n"
        "    api_key: ${NO_SUCH_VARIABLE_SET}\n    models: [{name: gpt-4o-mini}]\n"
    )
    result = run("--config", str(config), "migrate", cwd=tmp_path)
    assert result.returncode == 2
    assert "NO_SUCH_VARIABLE_SET" in result.stderr
    assert "providers[0].api_key" in result.stderr


def test_version_option(tmp_path: Path) -> None:
    result = run("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == run("version", cwd=tmp_path).stdout.strip()
    assert result.stdout.startswith("fluxrouter 0.")


def test_config_is_taken_before_or_after_the_command(tmp_path: Path) -> None:
    for where, args in {
        "before": ("--config", "{config}", "migrate"),
        "after": ("migrate", "--config", "{config}"),
    }.items():
        database = tmp_path / f"{where}.db"
        config = tmp_path / f"{where}.yaml"
        config.write_text(f"database: {{url: 'sqlite+aiosqlite:///{database}'}}\n")
        result = run(*(arg.format(config=config) for arg in args), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert database.exists(), where
    assert not (tmp_path / "fluxrouter.db").exists()


def test_config_after_a_nested_command_is_read(tmp_path: Path) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text("server:\n  port: eighty\n")
    for args in (
        ("serve", "--port", "1", "--config", str(config)),
        ("keys", "create", "--team", "t", "--name", "n", "--config", str(config)),
        ("audit", "export", "--out", "x.jsonl", "--config", str(config)),
    ):
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert "broken.yaml" in result.stderr, args
        assert "server.port" in result.stderr, args


def test_no_deprecation_warning_on_any_command(tmp_path: Path) -> None:
    (tmp_path / "fluxrouter.yaml").write_text(
        f"database: {{url: 'sqlite+aiosqlite:///{tmp_path / 'cli.db'}'}}\n"
    )
    for args in (
        ("version",),
        ("--help",),
        ("migrate",),
        ("audit", "public-key"),
        ("keys", "create", "--team", "no-such-team", "--name", "n"),
        ("audit", "export", "--out", str(tmp_path / "audit.jsonl")),
    ):
        result = run(*args, cwd=tmp_path)
        assert "Warning" not in result.stderr, (args, result.stderr)
        assert "deprecated" not in result.stderr, (args, result.stderr)
