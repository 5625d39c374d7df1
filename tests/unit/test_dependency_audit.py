"""`make audit-deps`: what it fails on (a known-vulnerable pin, one the registry reports) and
what it only reports (a pin behind its line's newest patch, a newer release, a yanked pin)."""

from __future__ import annotations

import tomllib

import pytest
from packaging.version import Version

from tests.deps.audit import (
    KNOWN_VULNERABLE,
    ROOT,
    Findings,
    Pin,
    Served,
    json_api_base,
    judge,
    load_advisories,
    newest_patch,
    pins,
)

ADVISORIES = load_advisories(
    """
[[advisory]]
package = "Auth_Lib"
affected = "<1.9.10"
id = "X-1"
summary = "token checks"
"""
)


def served(*versions: str, latest: str | None = None, yanked: tuple[str, ...] = ()) -> Served:
    return Served(
        releases={Version(v): v in yanked for v in versions},
        latest=Version(latest or versions[-1]),
        latest_vulnerabilities=(),
    )


def pin(text: str) -> Pin:
    name, version = text.split("==")
    return Pin(name, Version(version), None)


def test_every_dependency_of_the_project_is_pinned_and_read() -> None:
    found = pins(tomllib.loads((ROOT / "pyproject.toml").read_text()))
    names = {p.name for p in found}
    assert {"authlib", "uvicorn", "sqlalchemy", "pytest", "pip-audit"} <= names
    assert {p.extra for p in found} == {None, "dev", "semantic"}
    uvloop = next(p for p in found if p.name == "uvloop")  # with its environment marker
    assert uvloop.version.release[0] == 0


def test_a_range_pin_is_refused() -> None:
    with pytest.raises(ValueError, match="not pinned"):
        pins({"project": {"dependencies": ["redis>=8"]}})


def test_the_projects_pins_are_past_every_known_vulnerable_range() -> None:
    findings = Findings()
    for each in pins(tomllib.loads((ROOT / "pyproject.toml").read_text())):
        judge(each, None, load_advisories(KNOWN_VULNERABLE.read_text()), findings)
    assert findings.vulnerable == []


def test_a_known_vulnerable_pin_fails_whatever_the_registry_says() -> None:
    findings = Findings()
    judge(pin("auth-lib==1.9.6"), None, ADVISORIES, findings)
    assert findings.vulnerable == ["auth-lib==1.9.6: X-1 (<1.9.10): token checks"]
    assert findings.unknown == ["auth-lib==1.9.6"]
    fixed = Findings()
    judge(pin("auth-lib==1.9.10"), served("1.9.10"), ADVISORIES, fixed)
    assert fixed == Findings()


def test_newer_releases_are_reported_not_failed() -> None:
    findings = Findings()
    judge(
        pin("redis==8.1.0"),
        served("8.0.9", "8.1.0", "8.1.2", "8.1.3rc1", "8.2.0", "9.0.0", yanked=("8.1.2",)),
        (),
        findings,
    )
    assert findings.vulnerable == []
    assert findings.behind_patch == []  # 8.1.2 is yanked, 8.1.3rc1 a pre-release
    assert findings.newer == ["redis==8.1.0: 9.0.0 is served"]
    behind = Findings()
    judge(pin("redis==8.1.0"), served("8.1.0", "8.1.1"), (), behind)
    assert behind.behind_patch == ["redis==8.1.0: 8.1.1 is the newest of 8.1.0's line"]
    assert behind.newer == []


def test_what_the_registry_reports_vulnerable_fails() -> None:
    report = [{"id": "PYSEC-1", "aliases": ["CVE-1"], "withdrawn": None}]
    withdrawn = [{"id": "PYSEC-2", "withdrawn": "2026-01-01"}]
    at_latest = Findings()
    judge(
        pin("lib==2.0.0"),
        Served({Version("2.0.0"): False}, Version("2.0.0"), report + withdrawn),
        (),
        at_latest,
    )
    assert at_latest.vulnerable == ["lib==2.0.0: the registry reports PYSEC-1"]
    # the newest release's report says nothing about an older pin; its own report does
    older = Findings()
    versions = {Version("1.0.0"): False, Version("2.0.0"): False}
    judge(pin("lib==1.0.0"), Served(versions, Version("2.0.0"), report), (), older)
    assert older.vulnerable == []
    own = Findings()
    judge(pin("lib==1.0.0"), Served(versions, Version("2.0.0"), (), report), (), own)
    assert own.vulnerable == ["lib==1.0.0: the registry reports PYSEC-1"]


def test_a_yanked_pin_is_reported() -> None:
    findings = Findings()
    judge(pin("lib==1.0.1"), served("1.0.0", "1.0.1", yanked=("1.0.1",)), (), findings)
    assert findings.yanked == ["lib==1.0.1 is yanked"]


def test_lines_and_the_json_api() -> None:
    releases = [Version(v) for v in ("6.0.12.20261113", "6.0.12.20261122", "6.1.0")]
    assert newest_patch(Version("6.0.12.20261113"), releases) == Version("6.0.12.20261122")
    assert newest_patch(Version("2.17"), [Version("2.16"), Version("3.0")]) == Version("2.17")
    assert json_api_base("https://pypi.org/simple/") == "https://pypi.org/pypi"
    assert json_api_base("https://mirror.example/simple") == "https://mirror.example/pypi"
