"""`serve --workers N` above 1 needs Redis, the one thing its processes can share limits through."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrastructure.settings import Settings
from interfaces.cli import _parser
from interfaces.commands.serve import serve


def _serve(*argv: str) -> int:
    return serve(_parser().parse_args(["serve", *argv]), Settings(), None)


def test_several_workers_without_redis_are_refused_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _serve("--workers", "2") == 2
    assert "--workers above 1 needs redis.url" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no database made, nothing migrated


def test_zero_workers_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _serve("--workers", "0") == 2
    assert "at least 1" in capsys.readouterr().err
