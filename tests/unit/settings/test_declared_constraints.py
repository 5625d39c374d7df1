"""The constraints the settings structs declare on their types reach the user as one line that
names the key, the bounds and the value: for every bounded number, whichever side it breaks;
and the rules a struct checks itself (across fields, or what must parse) name their key too."""

from __future__ import annotations

import re
import textwrap
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest

from infrastructure.settings import ConfigError, Settings, load_settings
from infrastructure.settings.model import DatabaseSettings, ScimGroupMapping, ServerSettings
from infrastructure.settings.rules import FINITE


def error(directory: Path, text: str, env: dict[str, str] | None = None) -> str:
    (directory / "fluxrouter.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env or {}, directory)
    message = str(caught.value)
    assert "\n" not in message
    return message


def bounded_numbers(
    struct: type[msgspec.Struct], path: str = ""
) -> Iterator[tuple[str, type, Any]]:
    """(key path, int or float, Meta) of every number with bounds in ``struct`` and the structs
    it holds (not those in lists: `providers` has its own tests)."""
    for field in msgspec.structs.fields(struct):
        kind, where = field.type, f"{path}{field.name}"
        if typing.get_origin(kind) is Annotated:
            base, meta = typing.get_args(kind)[:2]
            if base in (int, float):
                yield where, base, meta
        elif isinstance(kind, type) and issubclass(kind, msgspec.Struct):
            yield from bounded_numbers(kind, f"{where}.")


BOUNDED = list(bounded_numbers(Settings))


def as_yaml(path: str, value: object) -> str:
    *sections, key = path.split(".")
    text = f"{key}: {value}"
    for section in reversed(sections):
        text = f"{section}: {{{text}}}"
    return text + "\n"


def test_the_walk_finds_the_bounded_settings() -> None:
    paths = [path for path, _, _ in BOUNDED]
    assert {"server.port", "outbox.max_retries", "outbound.images.concurrent"} <= set(paths)
    assert len(paths) >= 40


def number(value: float) -> str:
    return f"{value:.12g}"


@pytest.mark.parametrize(("path", "kind", "meta"), BOUNDED, ids=[path for path, *_ in BOUNDED])
def test_every_bounded_number_says_its_bounds(
    tmp_path: Path, path: str, kind: type, meta: Any
) -> None:
    low = number(meta.ge if meta.ge is not None else meta.gt)
    unit = " seconds" if (meta.extra or {}).get("unit") == "seconds" else ""
    below = error(tmp_path, as_yaml(path, -1))
    if meta.le is not None and meta.le != FINITE:
        bounds = f"between {low} and {number(meta.le)}{unit}"
        above = error(tmp_path, as_yaml(path, int(meta.le) + 1))
        assert above == f"fluxrouter.yaml: {path}: must be {bounds}, got {int(meta.le) + 1}"
    elif meta.le == FINITE:
        bounds = f"a finite number{' of seconds' if unit else ''} > {low}"
        assert error(tmp_path, as_yaml(path, ".inf")).endswith(f"must be {bounds}, got inf")
    else:
        bounds = f">= {low}"
    assert below == f"fluxrouter.yaml: {path}: must be {bounds}, got -1"
    variable = "FLUXROUTER_" + path.upper().replace(".", "_", 1)
    if "." not in path.partition(".")[2]:  # a key of a section: it has a variable
        given = kind("-1")  # converted to the key's type: -1.0 for a number of seconds
        assert error(tmp_path, "", {variable: "-1"}) == f"{variable}: must be {bounds}, got {given}"
    if kind is float:
        assert re.search(r"got nan$", error(tmp_path, as_yaml(path, ".nan")))


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        (
            "server: {header_timeout: 0}",
            {},
            "fluxrouter.yaml: server.header_timeout: must be between 0.1 and 3600 seconds, got 0",
        ),
        (
            "scim: {groups: [{group: g, team: t, role: admin}]}",
            {},
            "fluxrouter.yaml: scim.groups[0]: must name either a `team` or a `role`",
        ),
        (
            "scim: {groups: [{group: g, team: ' '}]}",
            {},
            "fluxrouter.yaml: scim.groups[0].team: must not be empty",
        ),
        (
            "outbox: {retry_base_seconds: 60}",
            {"FLUXROUTER_OUTBOX_RETRY_MAX_SECONDS": "30"},
            "FLUXROUTER_OUTBOX_RETRY_MAX_SECONDS: must not be below outbox.retry_base_seconds",
        ),
        (
            "",
            {"FLUXROUTER_SERVER_CORS_ORIGINS": "https://ok.example,app.example"},
            "FLUXROUTER_SERVER_CORS_ORIGINS: must be an origin like https://app.example.com "
            '(or *), got "app.example"',
        ),
        (
            "sso: {connections: [{id: a, org: o, kind: saml, idp_metadata_xml: x,"
            " role_map: {Ops Team: {role: root}}}]}",
            {},
            "fluxrouter.yaml: sso.connections[0].role_map.Ops Team.role: "
            'must be one of owner, admin, member, viewer, got "root"',
        ),
    ],
)
def test_messages(tmp_path: Path, text: str, env: dict[str, str], expected: str) -> None:
    assert error(tmp_path, text, env) == expected


def test_the_rules_hold_for_structs_built_in_code_too() -> None:
    with pytest.raises(ValueError, match="migrate_url"):
        DatabaseSettings(migrate_url=" ")
    with pytest.raises(ValueError, match="trusted_proxies"):
        ServerSettings(trusted_proxies=["proxy.local"])
    with pytest.raises(ValueError, match="either a `team` or a `role`"):
        ScimGroupMapping(group="g")
    assert ServerSettings(public_url="https://gw.example").public_url == "https://gw.example"
