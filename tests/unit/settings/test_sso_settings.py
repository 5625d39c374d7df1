"""The `sso` settings: defaults, declared connections, and the errors that stop start-up (a SAML
connection that would take unsigned assertions among them), never echoing a client secret."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from infrastructure.settings import ConfigError, Settings, load_settings

SECRET = "oidc-client-secret-value-1234"


def load(directory: Path, text: str = "", env: dict[str, str] | None = None) -> Settings:
    (directory / "fluxrouter.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_settings(None, env or {}, directory)[0]


def test_defaults(tmp_path: Path) -> None:
    sso = load(tmp_path).sso
    assert (sso.session_idle_seconds, sso.session_absolute_seconds) == (3600.0, 43200.0)
    assert sso.connections == []
    assert sso.xmlsec_binary is None


def test_declared_connections(tmp_path: Path) -> None:
    sso = load(
        tmp_path,
        """
        sso:
          session_idle_seconds: 900
          connections:
            - id: okta
              org: org-1
              kind: oidc
              issuer: https://acme.okta.com
              client_id: abc
              client_secret: ${OKTA_SECRET}
              role_map: {Engineering: {team: eng}, Admins: {role: admin}}
            - {id: entra, org: org-1, kind: saml, idp_metadata_file: idp.xml}
        """,
        {"OKTA_SECRET": SECRET},
    ).sso
    assert sso.session_idle_seconds == 900.0
    okta, entra = sso.connections
    assert (okta.client_secret, okta.role_map["Admins"]) == (SECRET, {"role": "admin"})
    assert (entra.kind, entra.require_signed_assertions) == ("saml", True)


@pytest.mark.parametrize(
    ("connection", "path", "problem"),
    [
        (
            "{id: s, org: o, kind: saml, idp_metadata_file: x, require_signed_assertions: false}",
            "sso.connections[0].require_signed_assertions",
            "unsigned SAML assertions are never accepted",
        ),
        ("{id: s, org: o, kind: saml}", "sso.connections[0]", "idp_metadata_xml"),
        (
            "{id: o, org: o, kind: oidc, issuer: https://x}",
            "sso.connections[0].client_id",
            "required",
        ),
        (
            "{id: o, org: o, kind: oidc, issuer: ftp://x, client_id: c, client_secret: s}",
            "sso.connections[0].issuer",
            "http(s) URL",
        ),
        ("{id: Bad Id, org: o, kind: saml, idp_metadata_xml: x}", "sso.connections[0].id", "match"),
        ("{id: x, org: o, kind: ldap}", "sso.connections[0].kind", "one of oidc, saml"),
        (
            "{id: x, org: o, kind: saml, idp_metadata_xml: x, role_map: {g: {role: root}}}",
            "sso.connections[0].role_map.g.role",
            "one of",
        ),
    ],
)
def test_errors_name_the_key(tmp_path: Path, connection: str, path: str, problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, f"sso:\n  connections:\n    - {connection}\n")
    assert f"{path}: " in str(error.value)
    assert problem in str(error.value)


def test_a_client_secret_is_never_echoed(tmp_path: Path) -> None:
    connection = f"{{id: o, org: o, kind: oidc, client_secret: [{SECRET}]}}"
    with pytest.raises(ConfigError) as error:
        load(tmp_path, f"sso:\n  connections:\n    - {connection}\n")
    assert SECRET not in str(error.value)


def test_session_timers_are_bounded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sso\.session_idle_seconds"):
        load(tmp_path, "sso: {session_idle_seconds: 1}\n")
