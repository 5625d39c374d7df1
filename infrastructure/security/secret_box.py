"""Secrets the gateway must use in clear later but may not store in clear (an OIDC client
secret; provider keys, in time): sealed with AES-256-GCM under a key kept in a file.

The key file holds 32 random bytes, base64; it is generated on first start when absent (mode
0600, written atomically, so replicas starting together agree on one key) and never logged or
stored in the database. Every gateway process of a deployment must use the same file. A sealed
value is "v1." followed by the base64 of a 12-byte nonce and the ciphertext with its tag; the
purpose it was sealed for is bound in as associated data, so a value can't be moved to another
use.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1."


class SealError(Exception):
    """A sealed value that does not open under this key (tampered, or another key)."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the secret key must be 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), purpose.encode())
        return VERSION + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, *, purpose: str) -> str:
        if not sealed.startswith(VERSION):
            raise SealError("not a sealed value")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(VERSION) :])
            return self._aead.decrypt(raw[:12], raw[12:], purpose.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError) as error:
            raise SealError("the sealed value does not open with this key") from error

    def __repr__(self) -> str:  # never the key
        return "SecretBox()"


def ensure_secret_box(path: str | Path) -> tuple[SecretBox, bool]:
    """The box over the key in `path`, generating the key when the file does not exist (True:
    generated now). ValueError when the file holds no 32-byte base64 key."""
    target = Path(path)
    if not target.exists():
        key = secrets.token_bytes(32)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(base64.b64encode(key) + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, target)
            return SecretBox(key), True
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
    try:
        key = base64.b64decode(target.read_bytes().strip(), validate=True)
        return SecretBox(key), False
    except (binascii.Error, ValueError):
        raise ValueError(f"{target} does not hold a 32-byte base64 key") from None
