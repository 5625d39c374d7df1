"""Scrubbing secrets out of text that leaves the process (error bodies, log lines)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

REDACTED = "[redacted]"

# Provider keys (OpenAI sk-…, Anthropic sk-ant-…, Google AIza…); every secret the gateway mints:
# virtual keys (fr-…), admin tokens (fra-…), SCIM tokens (frs-…), dashboard session cookies
# (frd-…), the generated admin key (fradm-…); and bearer tokens of any kind.
_PATTERNS = re.compile(
    r"(?:sk-[A-Za-z0-9_\-*.]{6,}|fr(?:adm|[ads])?-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}"
    r"|(?i:bearer)\s+[A-Za-z0-9_\-.~+/=*]{8,})"
)


def looks_like_secret(text: str) -> bool:
    """True when `text` holds anything shaped like a key or token (what `Redactor` removes)."""
    return _PATTERNS.search(text) is not None


class Redactor:
    """Removes the configured secrets and anything shaped like a key."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _PATTERNS.sub(REDACTED, text)


def redact_nested(value: object, redact: Callable[[str], str]) -> object:
    """`value` with every string in it redacted, however deep in dicts, lists, tuples and sets
    (keys too): a prompt's content parts, tool calls and their arguments. Containers are copied,
    never changed in place (a logged request body is still sent on); anything else is kept."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {
            redact(key) if isinstance(key, str) else key: redact_nested(item, redact)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact_nested(item, redact) for item in value]
    return value
