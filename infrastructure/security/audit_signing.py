"""The Ed25519 key that signs audit checkpoints, and checking signatures with public keys.

The private key lives in one file (PEM, PKCS#8, unencrypted, mode 0600), generated on first use
when absent; it is never logged and never stored in the database. Public keys are shown as PEM
(SubjectPublicKeyInfo) or as the base64 of the raw 32 bytes, and read back in either form.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domains.audit.checkpoint import Checkpoint, key_id_of

ALGORITHM = "Ed25519"


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


class PublicKeys:
    """Checks checkpoint signatures against one or more public keys, chosen by key id."""

    def __init__(self, keys: Iterable[Ed25519PublicKey]) -> None:
        self._keys = {key_id_of(raw_public_key(key)): key for key in keys}

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def check(self, checkpoint: Checkpoint) -> str | None:
        key = self._keys.get(checkpoint.key_id)
        if key is None:
            known = ", ".join(self.key_ids)
            return f"signed by key {checkpoint.key_id!r}, not by the key given ({known})"
        try:
            signature = base64.b64decode(checkpoint.signature, validate=True)
            key.verify(signature, checkpoint.payload())
        except (InvalidSignature, binascii.Error, ValueError):
            return "the signature does not verify"
        return None


class SigningKey:
    """The private key, its public half and id; signs and checks checkpoints."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.public_key = private_key.public_key()
        self._public = PublicKeys([self.public_key])

    @property
    def key_id(self) -> str:
        return key_id_of(raw_public_key(self.public_key))

    def public_pem(self) -> str:
        return public_key_pem(self.public_key)

    def public_base64(self) -> str:
        return base64.b64encode(raw_public_key(self.public_key)).decode()

    def sign(self, payload: bytes) -> str:
        return base64.b64encode(self._private.sign(payload)).decode()

    def check(self, checkpoint: Checkpoint) -> str | None:
        return self._public.check(checkpoint)

    def __repr__(self) -> str:  # never the private key
        return f"SigningKey(key_id={self.key_id!r})"


def ensure_signing_key(path: str | Path) -> tuple[SigningKey, bool]:
    """The key in `path`, generating it when the file does not exist (True: generated now).

    Creation is atomic: the key is written to a private temporary file that is then linked into
    place, so concurrent starts agree on one key and nobody reads a half-written file.
    ValueError when the file exists but holds no Ed25519 private key."""
    target = Path(path)
    if not target.exists():
        generated = Ed25519PrivateKey.generate()
        pem = generated.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, target)
            return SigningKey(generated), True
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
    return SigningKey(_load_private(target)), False


def key_file_too_open(path: str | Path) -> bool:
    """True when group or others may read the key file."""
    return bool(Path(path).stat().st_mode & 0o077)


def _load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path} does not hold a PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key given as PEM or as the base64 of its raw 32 bytes. ValueError otherwise."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(stripped.encode())
        except (ValueError, TypeError) as error:
            raise ValueError(f"not a PEM public key: {error}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"a {type(key).__name__}, not an Ed25519 public key")
        return key
    try:
        raw = base64.b64decode(stripped, validate=True)
    except binascii.Error:
        raise ValueError("neither PEM nor base64") from None
    if len(raw) != 32:
        raise ValueError(f"a raw Ed25519 public key has 32 bytes, this has {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def read_public_key(given: str) -> Ed25519PublicKey:
    """`given` is a file holding the key, or the key itself (PEM or base64)."""
    path = Path(given)
    try:
        is_file = path.is_file()
    except OSError:  # e.g. a base64 literal too long to be a file name
        is_file = False
    if is_file:
        return parse_public_key(path.read_text(encoding="utf-8"))
    return parse_public_key(given)
