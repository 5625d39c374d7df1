"""Scrubbing a call's bodies before they are kept: secrets (the `Redactor`'s: configured keys and
anything shaped like one) and personal data, in every string of a JSON body however deep (keys
too), or in the text of a body that is not JSON (a stream's events, a body cut at its cap).

Personal data is what the built-in patterns find (e-mail addresses, card numbers that pass the
Luhn check, phone numbers) and the configured ones (`request_log.pii_patterns`), each replaced
by `[REDACTED:<name>]`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec

from domains.providers.events import CallBodies
from infrastructure.security.redaction import redact_nested


@dataclass(frozen=True, slots=True)
class PiiPattern:
    name: str
    pattern: re.Pattern[str]
    check: Callable[[str], bool] | None = None
    """A further test of a match (a card number's Luhn check); None: every match is one."""


def luhn_valid(text: str) -> bool:
    """Whether the digits of `text` (13 to 19 of them) pass the Luhn check."""
    digits = [int(c) for c in text if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if position % 2 == 1 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def phone_like(text: str) -> bool:
    """Whether a match of the phone pattern has as many digits as a phone number (9 to 15:
    not a date, not a version)."""
    return 9 <= sum(c.isdigit() for c in text) <= 15


BUILT_IN: tuple[PiiPattern, ...] = (
    PiiPattern("email", re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")),
    PiiPattern("card", re.compile(r"(?<![0-9])[0-9](?:[ \-]?[0-9]){12,18}(?![0-9])"), luhn_valid),
    PiiPattern(
        "phone",
        re.compile(
            r"(?<![\w+])(?:\+[0-9]{1,3}[ .\-]?)?(?:\([0-9]{1,4}\)[ .\-]?)?"
            r"[0-9]{2,4}(?:[ .\-][0-9]{2,4}){2,4}(?![\w])"
        ),
        phone_like,
    ),
)
"""The patterns every scrubbing applies (unless turned off), in this order (a card number
before a phone number)."""


def replacement(name: str) -> str:
    return f"[REDACTED:{name}]"


class BodyScrubber:
    """`redact`: the secrets' redactor (`infrastructure.security.redaction.Redactor`);
    `patterns`: the configured ones, (name, regular expression), applied before the built-in
    (a configured name wins over a built-in one for the same text)."""

    def __init__(
        self,
        redact: Callable[[str], str],
        patterns: Iterable[tuple[str, str]] = (),
        *,
        built_in: bool = True,
    ) -> None:
        self._redact = redact
        configured = tuple(PiiPattern(name, re.compile(regex)) for name, regex in patterns)
        self._patterns = configured + (BUILT_IN if built_in else ())

    def text(self, text: str) -> str:
        """`text` without its secrets and personal data."""
        text = self._redact(text)
        for pii in self._patterns:
            text = pii.pattern.sub(_replacer(pii), text)
        return text

    def body(self, body: str) -> str:
        """A body without its secrets and personal data: a JSON body string by string (the
        answer JSON still); a stream's events each so (their `data:` lines); any other as
        text."""
        scrubbed = self._json(body)
        if scrubbed is not None:
            return scrubbed
        if "data:" not in body:
            return self.text(body)
        lines = body.split("\n")
        for n, row in enumerate(lines):
            if row.startswith("data:"):
                event = self._json(row[5:])
                lines[n] = "data: " + event if event is not None else self.text(row)
            else:
                lines[n] = self.text(row)
        return "\n".join(lines)

    def _json(self, text: str) -> str | None:
        """`text` scrubbed string by string if it is a JSON object or array, else None."""
        stripped = text.strip()
        if not stripped or stripped[0] not in "[{":
            return None
        try:
            try:
                decoded = msgspec.json.decode(stripped)
            except msgspec.DecodeError:  # not JSON, or numbers past 64 bits: the slower parser
                decoded = json.loads(stripped)
            scrubbed = redact_nested(decoded, self.text)
            try:
                return msgspec.json.encode(scrubbed).decode()
            except OverflowError:
                return json.dumps(scrubbed, ensure_ascii=False)
        except (ValueError, RecursionError):  # not JSON, or too deep to walk
            return None

    def bodies(self, bodies: CallBodies) -> CallBodies:
        return CallBodies(
            prompt=self.body(bodies.prompt) if bodies.prompt is not None else None,
            response=self.body(bodies.response) if bodies.response is not None else None,
            prompt_truncated=bodies.prompt_truncated,
            response_truncated=bodies.response_truncated,
        )


def _replacer(pii: PiiPattern) -> Callable[[re.Match[str]], str]:
    tag = replacement(pii.name)
    check = pii.check
    if check is None:
        return lambda match: tag
    return lambda match: tag if check(match.group(0)) else match.group(0)
