"""What a dead letter keeps of the error a subscriber failed with."""

from __future__ import annotations

import re

from infrastructure.security.redaction import REDACTED, Redactor

MESSAGE_CHARS = 300
_URL_CREDENTIALS = re.compile(r"(?<=//)[^/@\s]+@")


def described(error: BaseException, redact: Redactor) -> tuple[str, str]:
    """The error's class and its message, without secrets (the configured ones, anything shaped
    like a key, a URL's credentials) and at most `MESSAGE_CHARS` long."""
    message = _URL_CREDENTIALS.sub(f"{REDACTED}@", redact(str(error)))
    if len(message) > MESSAGE_CHARS:
        message = message[: MESSAGE_CHARS - 3] + "..."
    return type(error).__name__, message
