"""`audit`: the signing key and the checkpoints that anchor the audit log."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from infrastructure.settings.rules import SECONDS, NotBlank


class AuditSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    signing_key_file: NotBlank = "./fluxrouter-audit-signing.key"
    """The Ed25519 private key that signs checkpoints (PEM); generated at first start if absent.
    Every gateway process of a deployment must use the same key."""
    checkpoint_dir: NotBlank = "./audit-checkpoints"
    """Where each checkpoint is also written as a file, outside the database."""
    checkpoint_every_seconds: Annotated[float, Meta(ge=0, le=86400, extra=SECONDS)] = 60.0
    """A checkpoint once the oldest unanchored row is this old (0: only `audit checkpoint`)."""
    checkpoint_every_rows: Annotated[int, Meta(ge=1)] = 1000
    """A checkpoint once this many rows are unanchored."""
    refusal_rows_longest_seconds: Annotated[float, Meta(ge=1, le=3600, extra=SECONDS)] = 60.0
    """Refused credentials alike (surface, reason, address) are one `auth.refused` row a second;
    while they go on, each next row waits 8 times as long, at most this long."""
