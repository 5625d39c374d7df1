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
