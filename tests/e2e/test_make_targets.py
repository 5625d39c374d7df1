"""The Makefile on a fresh clone: `make run` installs the gateway alone, `make install` (for
`make test`, `lint`, `bench`) adds the dev tools, and the suite's system needs are set up or
named with the exact command."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clone(into: Path) -> Path:
    """The tracked files of the working tree, as a fresh clone would have them."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source = ROOT / os.fsdecode(name)
        if source.is_file():
            target = into / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return into


def make(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_make_run_installs_the_runtime_alone_and_make_test_the_dev_tools(tmp_path: Path) -> None:
    repo = clone(tmp_path / "clone")
    runtime = make("runtime", cwd=repo)
    assert runtime.returncode == 0, runtime.stderr
    assert (repo / ".venv/bin/fluxrouter").exists()
    assert not (repo / ".venv/bin/pytest").exists(), "make run must not install the dev tools"
    assert not (repo / ".venv/bin/mypy").exists()
    for target in ("run", "migrate", "worker"):
        plan = make("-n", target, cwd=repo).stdout
        assert "[dev" not in plan, (target, plan)
        assert "uv pip install" not in plan, (target, plan)

    dev = make("install", cwd=repo)
    assert dev.returncode == 0, dev.stderr
    assert (repo / ".venv/bin/pytest").exists()
    for target in ("test", "lint", "bench"):
        plan = make("-n", "-B", target, cwd=repo).stdout
        assert "-e '.[dev,semantic]'" in plan, (target, plan)

    # `make run` after `make test`: the dev install already holds the runtime, nothing changes
    again = make("runtime", cwd=repo)
    assert again.returncode == 0
    assert "uv pip install" not in again.stdout
    assert (repo / ".venv/bin/pytest").exists()


def test_a_missing_system_package_is_named_with_the_command_that_installs_it(
    tmp_path: Path,
) -> None:
    """Where apt-get cannot be used, `make peers` stops with the exact command to run."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("bash", "id", "ls", "head", "seq", "sleep", "env", "npm", "node"):
        found = shutil.which(tool)
        assert found is not None, tool
        (tools / tool).symlink_to(found)  # neither xmlsec1 nor apt-get nor sudo
    done = subprocess.run(
        ["bash", str(ROOT / "tests/peers/system.sh")],
        env={"PATH": str(tools)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "apt-get update && apt-get install -y xmlsec1" in done.stderr


def test_the_suites_system_needs_are_met_here() -> None:
    done = subprocess.run(
        ["make", "-s", "system"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert shutil.which("xmlsec1")
    assert shutil.which("npm")
