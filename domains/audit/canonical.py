"""RFC 8785 (JSON Canonicalization Scheme) bytes of a value, fast for what the audit log holds.

Audit rows hold objects, arrays, strings, booleans, null and integers. When a value holds only
those, integers in the I-JSON range and member names below U+D800 (where code point order is
UTF-16 code unit order), msgspec writes it with sorted members: the same bytes, since msgspec
escapes strings exactly as ECMAScript's JSON.stringify does (checked against `rfc8785` for
every code point). Anything else (a float, a larger integer, an astral or private-use name, a
subclass, a lone surrogate) goes to `rfc8785` whole, so the bytes and the errors are always
that library's, about ten times slower.
"""

from __future__ import annotations

from typing import Any

import msgspec
import rfc8785

_MAX_SAFE = 2**53 - 1
_sorted = msgspec.json.Encoder(order="sorted")


def canonical_json(value: Any) -> bytes:
    if _plain(value):
        try:
            return _sorted.encode(value)
        except UnicodeEncodeError:  # a lone surrogate: rfc8785 says so its own way
            pass
    return rfc8785.dumps(value)


def _plain(value: Any) -> bool:
    """Whether msgspec's sorted encoding of `value` is its canonical form."""
    kind = type(value)
    if kind is str or value is None or value is True or value is False:
        return True
    if kind is int:
        return bool(-_MAX_SAFE <= value <= _MAX_SAFE)
    if kind is dict:
        for name, item in value.items():
            if type(name) is not str or not (name.isascii() or max(name) < "\ud800"):
                return False
            if not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_plain(item) for item in value)
    return False
