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
    if kind is dict:
        return _plain_members(value)
    if kind is list or kind is tuple:
        return _plain_items(value)
    return _plain_scalar(value, kind)


def _plain_scalar(value: Any, kind: type) -> bool:
    if kind is str or value is None or value is True or value is False:
        return True
    return kind is int and -_MAX_SAFE <= value <= _MAX_SAFE


def _plain_members(value: dict[Any, Any]) -> bool:
    # the scalars, most of an audit row's values, are checked here rather than by a call each
    for name, item in value.items():
        if type(name) is not str or not (name.isascii() or max(name) < "\ud800"):
            return False
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is dict:
            if not _plain_members(item):
                return False
        elif kind is list or kind is tuple:
            if not _plain_items(item):
                return False
        elif not _plain_scalar(item, kind):
            return False
    return True


def _plain_items(value: list[Any] | tuple[Any, ...]) -> bool:
    return all(_plain(item) for item in value)
