"""`make audit-deps`: every pin in pyproject.toml against what the package registry serves.

Run as ``python -m tests.deps.audit`` (``make lint`` runs it). For each pinned dependency, runtime
and dev, it asks the registry pip installs from (its JSON API: ``<registry>/pypi/<name>/json``)
for the releases it serves, and:

- fails on a pin that is known to be vulnerable: one listed in ``known_vulnerable.toml`` beside
  this file (kept with the code, so it changes only with a commit), or one the registry itself
  reports vulnerabilities for (its ``vulnerabilities`` field, served for the newest release and,
  where the registry has it, for each release);
- reports, without failing, a pin behind the newest patch release of its minor line, a newer
  minor or major release, and a yanked pin: a new upstream release never turns CI red by itself
  (``STRICT=1`` makes a pin behind its minor line's newest patch fail too);
- runs ``pip-audit`` over the installed environment when its advisory database (OSV) answers
  within a few seconds, and says how to run it when it does not (``ONLINE=1`` makes an
  unreachable database, or a dependency pip-audit could not audit, a failure).

A registry that cannot be reached is reported, not failed on: the known-vulnerable list is still
checked, offline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[2]
KNOWN_VULNERABLE = Path(__file__).with_name("known_vulnerable.toml")
DEFAULT_INDEX = "https://pypi.org/simple"
REGISTRY_TIMEOUT_S = 10.0
REGISTRY_PROBE_TIMEOUT_S = 5.0
ADVISORY_PROBE_TIMEOUT_S = 3.0
OSV_QUERY_URL = "https://api.osv.dev/v1/query"


@dataclass(frozen=True, slots=True)
class Pin:
    name: str  # canonical: lower case, runs of -_. as one -
    version: Version
    extra: str | None  # the optional-dependencies group it is in; None: a runtime dependency

    @property
    def text(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True, slots=True)
class Advisory:
    """A range of releases known to be vulnerable, kept in known_vulnerable.toml."""

    name: str
    affected: SpecifierSet
    id: str
    summary: str


@dataclass(frozen=True, slots=True)
class Served:
    """What the registry serves of one package."""

    releases: Mapping[Version, bool]  # each release with a file: whether all its files are yanked
    latest: Version | None  # the release the registry calls the newest
    latest_vulnerabilities: Sequence[Mapping[str, Any]]  # what it reports for `latest`
    pin_vulnerabilities: Sequence[Mapping[str, Any]] | None = None  # for the pin; None: not served


@dataclass(slots=True)
class Findings:
    vulnerable: list[str] = field(default_factory=list)  # fail
    behind_patch: list[str] = field(default_factory=list)  # report (STRICT=1: fail)
    newer: list[str] = field(default_factory=list)  # report
    yanked: list[str] = field(default_factory=list)  # report
    unknown: list[str] = field(default_factory=list)  # report: the registry did not answer


def pins(pyproject: Mapping[str, Any]) -> list[Pin]:
    """Every `name==version` dependency of the project, runtime and optional; a requirement that
    is not an exact pin is an error: the audit is about pins."""
    project = pyproject["project"]
    groups: list[tuple[str | None, Iterable[str]]] = [(None, project.get("dependencies", []))]
    groups += list(project.get("optional-dependencies", {}).items())
    found: list[Pin] = []
    for extra, requirements in groups:
        for text in requirements:
            requirement = Requirement(text)
            specifiers = list(requirement.specifier)
            if len(specifiers) != 1 or specifiers[0].operator != "==":
                raise ValueError(f"{text!r} is not pinned with == to one version")
            found.append(
                Pin(canonicalize_name(requirement.name), Version(specifiers[0].version), extra)
            )
    return found


def load_advisories(text: str) -> list[Advisory]:
    data = tomllib.loads(text)
    return [
        Advisory(
            name=canonicalize_name(entry["package"]),
            affected=SpecifierSet(entry["affected"]),
            id=entry["id"],
            summary=entry["summary"],
        )
        for entry in data.get("advisory", [])
    ]


def minor_line(version: Version) -> tuple[int, int]:
    release = (*version.release, 0)
    return release[0], release[1]


def newest_patch(pin: Version, releases: Iterable[Version]) -> Version:
    """The newest final release of the pin's major.minor line (the pin itself when none is)."""
    line = [v for v in releases if minor_line(v) == minor_line(pin) and not v.is_prerelease]
    return max([pin, *line])


def _vulnerability_ids(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted(
        str(entry.get("id") or ", ".join(entry.get("aliases") or ()) or "unnamed")
        for entry in entries
        if not entry.get("withdrawn")
    )


def judge(
    pin: Pin, served: Served | None, advisories: Sequence[Advisory], findings: Findings
) -> None:
    """Adds what is wrong with one pin to `findings`."""
    for advisory in advisories:
        if advisory.name == pin.name and advisory.affected.contains(pin.version, prereleases=True):
            findings.vulnerable.append(
                f"{pin.text}: {advisory.id} ({advisory.affected}): {advisory.summary}"
            )
    if served is None:
        findings.unknown.append(pin.text)
        return
    reported: Sequence[Mapping[str, Any]] = ()
    if served.pin_vulnerabilities is not None:
        reported = served.pin_vulnerabilities
    elif served.latest == pin.version:
        reported = served.latest_vulnerabilities
    ids = _vulnerability_ids(reported)
    if ids:
        findings.vulnerable.append(f"{pin.text}: the registry reports {', '.join(ids)}")
    if served.releases.get(pin.version):
        findings.yanked.append(f"{pin.text} is yanked")
    unyanked = [v for v, yanked in served.releases.items() if not yanked]
    patch = newest_patch(pin.version, unyanked)
    if patch > pin.version:
        findings.behind_patch.append(f"{pin.text}: {patch} is the newest of {pin.version}'s line")
    finals = [v for v in unyanked if not v.is_prerelease]
    newest = max(finals, default=pin.version)
    if newest > patch:
        findings.newer.append(f"{pin.text}: {newest} is served")


def json_api_base(index_url: str) -> str:
    """``https://host/simple`` → ``https://host/pypi``: the JSON API beside a simple index."""
    base = index_url.rstrip("/")
    return base.removesuffix("/simple") + "/pypi"


def _get_json(url: str, timeout: float) -> Any | None:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except (urllib.error.URLError, TimeoutError, OSError, ValueError):
        return None


def served(api: str, pin: Pin) -> Served | None:
    document = _get_json(f"{api}/{pin.name}/json", REGISTRY_TIMEOUT_S)
    if not isinstance(document, dict):
        return None
    releases: dict[Version, bool] = {}
    for text, files in document.get("releases", {}).items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if files:
            releases[version] = all(f.get("yanked", False) for f in files)
    try:
        latest: Version | None = Version(document["info"]["version"])
    except (KeyError, InvalidVersion):
        latest = None
    per_release = _get_json(f"{api}/{pin.name}/{pin.version}/json", REGISTRY_TIMEOUT_S)
    pin_vulnerabilities = (
        per_release.get("vulnerabilities") if isinstance(per_release, dict) else None
    )
    return Served(
        releases=releases,
        latest=latest,
        latest_vulnerabilities=document.get("vulnerabilities") or (),
        pin_vulnerabilities=pin_vulnerabilities,
    )


def advisory_database_reachable(timeout: float = ADVISORY_PROBE_TIMEOUT_S) -> bool:
    """Whether OSV (pip-audit's advisory database) answers a query within `timeout`."""
    body = json.dumps({"package": {"name": "pip", "ecosystem": "PyPI"}, "version": "0"}).encode()
    request = urllib.request.Request(
        OSV_QUERY_URL, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, TimeoutError, OSError):
        return False


def run_pip_audit(online: bool) -> int:
    """pip-audit over this environment against OSV; 0 when it found nothing (or, unless
    `online`, when OSV cannot be reached and it was skipped)."""
    if not advisory_database_reachable():
        silent = f"its advisory database (OSV) did not answer within {ADVISORY_PROBE_TIMEOUT_S:g} s"
        if online:
            print(f"pip-audit: ONLINE=1 and {silent}: failing")
            return 1
        print(
            f"pip-audit: skipped, {silent}. Where the network reaches it: make audit-deps ONLINE=1"
        )
        return 0
    command = [
        sys.executable, "-m", "pip_audit", "--vulnerability-service", "osv", "--skip-editable",
        "--progress-spinner", "off", "--timeout", "30",
    ]  # fmt: skip
    if online:
        command.append("--strict")  # a dependency it could not audit fails the run too
    print("pip-audit:", " ".join(command[3:]))
    return subprocess.run(command, check=False).returncode


def _section(title: str, lines: Sequence[str]) -> None:
    if lines:
        print(f"{title} ({len(lines)}):")
        for line in sorted(lines):
            print(f"  {line}")


def main(argv: Sequence[str] = ()) -> int:
    online = os.environ.get("ONLINE", "") not in ("", "0")
    strict = os.environ.get("STRICT", "") not in ("", "0")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    all_pins = pins(pyproject)
    advisories = load_advisories(KNOWN_VULNERABLE.read_text())
    index = os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX
    api = json_api_base(index)
    answers: list[Served | None] = [None] * len(all_pins)
    # one quick question first: a registry that does not answer is not asked 2 x 46 times more
    if _get_json(f"{api}/pip/json", REGISTRY_PROBE_TIMEOUT_S) is not None:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda pin: served(api, pin), all_pins))
    findings = Findings()
    for pin, answer in zip(all_pins, answers, strict=True):
        judge(pin, answer, advisories, findings)
    print(f"audit-deps: {len(all_pins)} pins against {api}")
    _section("VULNERABLE pins (fail)", findings.vulnerable)
    behind_title = "behind the newest patch of their line" + (" (fail)" if strict else "")
    _section(behind_title, findings.behind_patch)
    _section("yanked pins", findings.yanked)
    _section("newer minor or major releases served (update when convenient)", findings.newer)
    _section("not asked: the registry did not answer", findings.unknown)
    failed = bool(findings.vulnerable) or (strict and bool(findings.behind_patch))
    if run_pip_audit(online) != 0:
        failed = True
    print("audit-deps:", "FAILED" if failed else "ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
