"""The audit settings: defaults, the file, ``FLUXROUTER_AUDIT_*`` overrides and the errors naming
the key; and the signing key file they point at (generated once, private, never reused wrongly)."""

from __future__ import annotations

import stat
import textwrap
from pathlib import Path

import pytest

from infrastructure.security.audit_signing import ensure_signing_key, parse_public_key
from infrastructure.settings import ConfigError, Settings, load_settings


def load(directory: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    (directory / "fluxrouter.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_settings(None, env or {}, directory)[0]


def test_audit_defaults(tmp_path: Path) -> None:
    audit = load_settings(None, {}, tmp_path)[0].audit
    assert audit.signing_key_file == str(tmp_path / "fluxrouter-audit-signing.key")
    assert audit.checkpoint_dir == str(tmp_path / "audit-checkpoints")
    assert (audit.checkpoint_every_seconds, audit.checkpoint_every_rows) == (60.0, 1000)
    assert load(tmp_path, "audit:\n").audit == audit


def test_audit_from_the_file_and_the_environment(tmp_path: Path) -> None:
    text = """\
        audit:
          signing_key_file: /etc/fluxrouter/audit.key
          checkpoint_dir: /var/lib/fluxrouter/checkpoints
          checkpoint_every_seconds: 30
          checkpoint_every_rows: 500
    """
    audit = load(tmp_path, text).audit
    assert audit.signing_key_file == "/etc/fluxrouter/audit.key"
    assert audit.checkpoint_dir == "/var/lib/fluxrouter/checkpoints"
    assert (audit.checkpoint_every_seconds, audit.checkpoint_every_rows) == (30.0, 500)
    env = {
        "FLUXROUTER_AUDIT_SIGNING_KEY_FILE": "/run/secrets/audit.key",
        "FLUXROUTER_AUDIT_CHECKPOINT_DIR": "/mnt/shipped",
        "FLUXROUTER_AUDIT_CHECKPOINT_EVERY_SECONDS": "0",
        "FLUXROUTER_AUDIT_CHECKPOINT_EVERY_ROWS": "10",
    }
    audit = load(tmp_path, text, env).audit
    assert audit.signing_key_file == "/run/secrets/audit.key"
    assert audit.checkpoint_dir == "/mnt/shipped"
    assert (audit.checkpoint_every_seconds, audit.checkpoint_every_rows) == (0.0, 10)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("audit: {checkpoint_every_rows: 0}", "audit.checkpoint_every_rows: must be >= 1, got 0"),
        (
            "audit: {checkpoint_every_seconds: -1}",
            "audit.checkpoint_every_seconds: must be between",
        ),
        ("audit: {checkpoint_dir: ''}", "audit.checkpoint_dir: must not be empty"),
        ("audit: {signing_key_file: ' '}", "audit.signing_key_file: must not be empty"),
        ("audit: {signing_key: x}", "audit.signing_key: unknown key"),
    ],
)
def test_audit_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "fluxrouter.yaml").write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {}, tmp_path)
    assert message in str(caught.value)


def test_an_override_of_an_unknown_audit_key_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FLUXROUTER_AUDIT_KEY_FILE"):
        load_settings(None, {"FLUXROUTER_AUDIT_KEY_FILE": "x"}, tmp_path)


# --- the signing key file --------------------------------------------------------------------


def test_the_key_is_generated_once_private_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "audit.key"
    key, generated = ensure_signing_key(path)
    assert generated
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    again, generated_again = ensure_signing_key(path)
    assert not generated_again
    assert again.key_id == key.key_id
    assert again.public_pem() == key.public_pem()
    assert [p.name for p in path.parent.iterdir()] == ["audit.key"]  # no temporary left behind
    assert repr(key) == f"SigningKey(key_id={key.key_id!r})"  # never the private key


def test_the_public_key_reads_back_from_pem_and_base64(tmp_path: Path) -> None:
    key, _ = ensure_signing_key(tmp_path / "audit.key")
    for text in (key.public_pem(), key.public_base64(), "\n" + key.public_base64() + "\n"):
        assert parse_public_key(text) == key.public_key
    with pytest.raises(ValueError, match="32 bytes"):
        parse_public_key("c2hvcnQ=")
    with pytest.raises(ValueError, match=r"not an Ed25519 public key|not a PEM public key"):
        parse_public_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


def test_a_file_that_is_not_a_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    path.write_text("not a key\n")
    with pytest.raises(ValueError, match="does not hold a PEM private key"):
        ensure_signing_key(path)
