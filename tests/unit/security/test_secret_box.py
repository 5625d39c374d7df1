"""The box that seals client secrets: AES-256-GCM under a key file generated once."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infrastructure.security.secret_box import SealError, SecretBox, ensure_secret_box

BOX = SecretBox(b"k" * 32)


@given(st.text(max_size=200))
def test_what_is_sealed_opens_again_and_never_shows(plaintext: str) -> None:
    sealed = BOX.seal(plaintext, purpose="p")
    assert sealed.startswith("v1.")
    assert BOX.open(sealed, purpose="p") == plaintext
    if len(plaintext) >= 4:
        assert plaintext not in sealed
    assert BOX.seal(plaintext, purpose="p") != sealed  # a fresh nonce each time


def flipped(sealed: str, bit: int) -> str:
    """The sealed value with one bit of its nonce, ciphertext or tag turned over (a character
    of the text may stand for bits the decoding drops, so the bytes are changed)."""
    raw = bytearray(base64.urlsafe_b64decode(sealed.removeprefix("v1.")))
    raw[bit // 8] ^= 1 << (bit % 8)
    return "v1." + base64.urlsafe_b64encode(bytes(raw)).decode()


@given(st.integers(min_value=0, max_value=(12 + 13 + 16) * 8 - 1))
def test_any_bit_turned_over_does_not_open(bit: int) -> None:
    sealed = BOX.seal("client-secret", purpose="sso.oidc.client_secret")
    with pytest.raises(SealError):
        BOX.open(flipped(sealed, bit), purpose="sso.oidc.client_secret")


def test_a_tampered_value_another_purpose_or_another_key_does_not_open() -> None:
    sealed = BOX.seal("client-secret", purpose="sso.oidc.client_secret")
    for value, purpose, box in (
        (flipped(sealed, 8 * 30), "sso.oidc.client_secret", BOX),
        (sealed, "sso.oidc.pending", BOX),
        (sealed, "sso.oidc.client_secret", SecretBox(b"x" * 32)),
        ("client-secret", "sso.oidc.client_secret", BOX),
    ):
        with pytest.raises(SealError):
            box.open(value, purpose=purpose)
    assert "k" * 32 not in repr(BOX)


def test_the_key_file_is_made_once_private_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "sso.key"
    box, made = ensure_secret_box(path)
    assert made
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, made_again = ensure_secret_box(path)
    assert not made_again
    assert again.open(box.seal("s", purpose="p"), purpose="p") == "s"
    path.write_text("not a key\n")
    with pytest.raises(ValueError, match="32-byte base64 key"):
        ensure_secret_box(path)
