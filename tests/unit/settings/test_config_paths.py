"""Relative paths in the configuration are taken from the configuration file's directory (the
data directory when there is no file), never from wherever a command happens to run."""

from __future__ import annotations

import textwrap
from pathlib import Path

from infrastructure.settings import load_settings


def write_config(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "x.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_relative_paths_are_taken_from_the_config_files_directory(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "etc",
        """\
        database: {url: "sqlite+aiosqlite:///data/fluxrouter.db", migrate_url: "sqlite:///m.db"}
        audit: {signing_key_file: keys/audit.key, checkpoint_dir: ./checkpoints}
        sso:
          secret_key_file: sso.key
          saml_key_file: ../saml/sp.key
          saml_cert_file: /abs/sp.crt
          xmlsec_binary: bin/xmlsec1
          connections:
            - {id: corp, org: o, kind: saml, idp_metadata_file: idp.xml}
        """,
    )
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    settings, used = load_settings(str(config), {}, elsewhere)
    etc = tmp_path / "etc"
    assert used == str(config)
    assert settings.database.url == f"sqlite+aiosqlite:///{etc}/data/fluxrouter.db"
    assert settings.database.migrate_url == f"sqlite:///{etc}/m.db"
    assert settings.audit.signing_key_file == str(etc / "keys" / "audit.key")
    assert settings.audit.checkpoint_dir == str(etc / "checkpoints")
    assert settings.sso.secret_key_file == str(etc / "sso.key")
    assert settings.sso.saml_key_file == str(etc / ".." / "saml" / "sp.key")
    assert settings.sso.saml_cert_file == "/abs/sp.crt"
    assert settings.sso.xmlsec_binary == str(etc / "bin" / "xmlsec1")
    assert settings.sso.connections[0].idp_metadata_file == str(etc / "idp.xml")


def test_a_relative_config_path_and_overrides_resolve_the_same_way(tmp_path: Path) -> None:
    write_config(tmp_path / "conf", "audit: {checkpoint_dir: cps}\n")
    env = {"FLUXROUTER_CONFIG": "conf/x.yaml", "FLUXROUTER_AUDIT_SIGNING_KEY_FILE": "a.key"}
    settings, _ = load_settings(None, env, tmp_path)
    assert settings.audit.checkpoint_dir == str(tmp_path / "conf" / "cps")
    assert settings.audit.signing_key_file == str(tmp_path / "conf" / "a.key")


def test_a_program_name_and_other_databases_are_left_as_written(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        """\
        database: {url: "postgresql+psycopg://u@db/fluxrouter"}
        sso: {xmlsec_binary: xmlsec1}
        """,
    )
    settings, _ = load_settings(str(config), {}, tmp_path / "other")
    assert settings.database.url == "postgresql+psycopg://u@db/fluxrouter"
    assert settings.sso.xmlsec_binary == "xmlsec1"  # found on the PATH
    memory = write_config(tmp_path / "m", 'database: {url: "sqlite+aiosqlite:///:memory:"}\n')
    assert load_settings(str(memory), {}, tmp_path)[0].database.url.endswith("///:memory:")


def test_without_a_file_paths_are_taken_from_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "var" / "lib" / "fluxrouter"
    env = {"FLUXROUTER_DATABASE_URL": f"sqlite+aiosqlite:///{data}/fluxrouter.db"}
    settings, used = load_settings(None, env, tmp_path / "cwd")
    assert used is None
    assert settings.audit.checkpoint_dir == str(data / "audit-checkpoints")
    assert settings.audit.signing_key_file == str(data / "fluxrouter-audit-signing.key")
    assert settings.sso.secret_key_file == str(data / "fluxrouter-sso-secret.key")
    # PostgreSQL and no file: the working directory
    env = {"FLUXROUTER_DATABASE_URL": "postgresql+psycopg://u@db/fluxrouter"}
    settings, _ = load_settings(None, env, tmp_path / "cwd")
    assert settings.audit.checkpoint_dir == str(tmp_path / "cwd" / "audit-checkpoints")
