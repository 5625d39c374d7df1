"""The redactor: configured secrets and key-shaped strings never leave the process."""

from __future__ import annotations

import re
import secrets as random_secrets
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from infrastructure.security.redaction import (
    REDACTED,
    Redactor,
    looks_like_secret,
)

KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"


def test_configured_secrets_are_removed() -> None:
    redact = Redactor(["hunter2-password", None, "", "db-pass-xyz"])
    out = redact("login with hunter2-password, then db-pass-xyz; again hunter2-password")
    assert "hunter2-password" not in out
    assert "db-pass-xyz" not in out
    assert out == f"login with {REDACTED}, then {REDACTED}; again {REDACTED}"


def test_added_secrets_are_removed() -> None:
    redact = Redactor()
    redact.add("token-4711")
    redact.add(None)
    redact.add("token-4711")  # twice is fine
    assert redact("the token-4711 leaked") == f"the {REDACTED} leaked"


def test_secrets_shorter_than_four_characters_are_ignored() -> None:
    redact = Redactor(["abc"])
    redact.add("xy")
    assert redact("abc and xy stay") == "abc and xy stay"


def test_the_longest_secret_is_removed_first() -> None:
    redact = Redactor(["pass", "password-long"])
    out = redact("password-long")
    assert out == REDACTED
    assert "-long" not in out


@pytest.mark.parametrize(
    "secret",
    [
        "sk-" + random_secrets.token_urlsafe(36),
        "sk-proj-" + random_secrets.token_urlsafe(48),
        "sk-ant-api03-" + random_secrets.token_urlsafe(64),
        "sk-abc***xyz",  # already masked by a provider, still dropped
        "fr-" + random_secrets.token_urlsafe(32),
        "AIza" + random_secrets.token_urlsafe(26)[:35],
    ],
)
def test_key_shaped_strings_are_removed(secret: str) -> None:
    text = f'{{"error": "Incorrect API key provided: {secret}, check it."}}'
    out = Redactor()(text)
    assert secret not in out
    assert secret[6:] not in out
    assert out == f'{{"error": "Incorrect API key provided: {REDACTED}, check it."}}'


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_bearer_tokens_are_removed(scheme: str) -> None:
    token = random_secrets.token_urlsafe(24)
    out = Redactor()(f"Authorization: {scheme} {token}")
    assert token not in out
    assert out == f"Authorization: {REDACTED}"


def test_openai_style_keys_swallow_mask_characters_and_dots() -> None:
    # provider error messages show masked keys such as "sk-abc*****wxyz."
    out = Redactor()("Incorrect API key provided: sk-abc*****wxyz. See the docs.")
    assert "wxyz" not in out
    assert out == f"Incorrect API key provided: {REDACTED} See the docs."


def test_bearer_tokens_with_base64_characters_are_removed() -> None:
    token = "eyJhbGciOi.JIUzI1NiJ9+/abc=="
    out = Redactor()(f"header was Bearer {token} end")
    assert "eyJhbGciOi" not in out
    assert out == f"header was {REDACTED} end"


@pytest.mark.parametrize(
    "text",
    [
        "The model `gpt-4o-mini` does not exist.",
        "Rate limit reached for requests; try again in 20s.",
        "task-list and risk-free are ordinary words",
        "fr-short is not a key, nor is sk-12",
        "Bearer short",
        "AIzaShort",
        "",
        "ünïcödé 🚀 text",
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert Redactor(["not-in-the-text"])(text) == text


def test_several_kinds_in_one_text_are_all_removed() -> None:
    configured = "my-db-password-123"
    keys = [
        "sk-" + "a" * 40,
        "fr-" + "b" * 43,
        "AIza" + "c" * 35,
    ]
    text = f"{configured} | {keys[0]} | {keys[1]} | {keys[2]} | Bearer {'d' * 30}"
    out = Redactor([configured])(text)
    for secret in [configured, *keys, "d" * 30]:
        assert secret not in out
    assert out.count(REDACTED) == 5


# --- properties ------------------------------------------------------------------------------

CONFIGURED = st.text(alphabet=KEY_ALPHABET + "!@#$%^&*()+=.,:;~ ", min_size=12, max_size=40)
KEY_BODY = st.text(alphabet=KEY_ALPHABET, min_size=32, max_size=64)
SURROUNDING = st.text(max_size=80)


@given(before=SURROUNDING, secret=CONFIGURED, after=SURROUNDING)
def test_a_configured_secret_never_survives(before: str, secret: str, after: str) -> None:
    out = Redactor([secret])(before + secret + after)
    assert secret not in out


@given(
    before=SURROUNDING,
    secrets=st.lists(CONFIGURED, min_size=1, max_size=4),
    after=SURROUNDING,
    which=st.integers(min_value=0),
)
def test_one_of_several_configured_secrets_never_survives(
    before: str, secrets: list[str], after: str, which: int
) -> None:
    secret = secrets[which % len(secrets)]
    out = Redactor(secrets)(before + secret + after + secret)
    assert secret not in out


@given(
    before=SURROUNDING,
    scheme=st.sampled_from(["sk-", "sk-proj-", "sk-ant-api03-", "fr-", "fra-", "AIza", "Bearer "]),
    body=KEY_BODY,
    after=SURROUNDING,
)
def test_a_key_shaped_secret_never_survives(
    before: str, scheme: str, body: str, after: str
) -> None:
    assume(body not in before and body not in after)
    secret = scheme + body
    out = Redactor()(before + secret + after)
    assert secret not in out
    assert body not in out


@given(st.text(alphabet=st.characters(blacklist_characters="-"), max_size=200))
def test_text_without_dashes_or_key_markers_is_untouched(text: str) -> None:
    assume("AIza" not in text and "bearer" not in text.lower())
    assert Redactor()(text) == text


def _minted_schemes() -> set[str]:
    """Every `..._SCHEME = "…"` the code mints secrets with (virtual keys, admin tokens, SCIM
    tokens, session cookies, the generated admin key...), found by reading the source."""
    root = Path(__file__).resolve().parents[3]
    found: set[str] = set()
    for folder in ("domains", "application", "infrastructure", "interfaces"):
        for path in (root / folder).rglob("*.py"):
            found.update(_SCHEME.findall(path.read_text(encoding="utf-8")))
    return found


_SCHEME = re.compile(r'^[A-Z_]*_SCHEME = "([a-z]+-)"', re.MULTILINE)


def test_every_minted_token_scheme_is_scrubbed() -> None:
    schemes = _minted_schemes()
    assert {"fr-", "fra-", "frs-", "frd-", "fradm-"} <= schemes
    for scheme in schemes:
        token = scheme + random_secrets.token_urlsafe(32)
        assert looks_like_secret(token), scheme
        out = Redactor()(f"x-request-id={token} seen")
        assert out == f"x-request-id={REDACTED} seen", scheme
