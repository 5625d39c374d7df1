"""What the user reads when the configuration is unusable: one line naming the file (or the
variable), the key and what is wrong, never a secret.

msgspec reports a bad value as ``Expected `int` <= 65535 - at `$.server.port```; this module
rewrites it from the constraints declared on the field's type (``between 1 and 65535``), and
reads back the key of a rule a struct's ``__post_init__`` found broken.
"""

from __future__ import annotations

import json
import re
import typing
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from infrastructure.settings.rules import FINITE, RULE_MESSAGE, quote

SECRET_KEYS = frozenset({"api_key", "admin.key", "client_secret"})
"""Fields whose values must never be echoed: a bare field name matches at any depth."""

_MSGSPEC_ERROR = re.compile(r"(?P<what>.*?)(?: - at `(?P<at>\$[^`]*)`)?", re.S)
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_UNMET = re.compile(r"Expected `[^`]*` (?:[<>]=?|of length|matching regex|that is a)|Invalid enum")
_NOUNS = dict(int="an integer", str="a string", float="a number", bool="a boolean", null="null")
_NOUNS.update(object="a mapping", array="a list", decimal="a decimal number")
_KINDS = ((int, "int"), (float, "float"), (Decimal, "decimal"), (str, "str"), (dict, "object"))


class ConfigError(Exception):
    """The configuration is unusable. ``str()`` is one line: ``source: key.path: problem``."""

    def __init__(self, source: str, path: str | None, problem: str) -> None:
        self.source, self.path, self.problem = source, path, problem
        text = ": ".join(part for part in (source, path, problem) if part)
        super().__init__("".join(c if c.isprintable() else repr(c)[1:-1] for c in text))


def is_secret(path: str) -> bool:
    """True when the key at ``path`` (``providers[0].api_key``) holds a secret."""
    return path in SECRET_KEYS or path.rsplit(".", 1)[-1] in SECRET_KEYS


def describe(message: str, raw: Any, kind: Any, base: str = "") -> tuple[str, str]:
    """Turn msgspec's error converting ``raw`` to ``kind`` (``Expected `int`, got `str` - at
    `$.server.port```) into ``("server.port", 'expected an integer, got "abc"')``, looking the
    value up in ``raw``; ``base`` is the key path of ``raw`` itself."""
    match = _MSGSPEC_ERROR.fullmatch(message)
    what, at = (match["what"], match["at"] or "$") if match else (message, "$")
    path, value = join(base, at[1:].lstrip(".")), _lookup(raw, at)
    if rule := RULE_MESSAGE.fullmatch(what):  # from a __post_init__: it says all it means to
        return join(path, rule["key"] or ""), rule["problem"]
    field = re.fullmatch(r"Object (contains unknown|missing required) field `(.*)`", what)
    if field:
        problem = "unknown key" if field[1] == "contains unknown" else "required key is missing"
        return join(path, field[2]), problem
    if _UNMET.match(what) and (requirement := _requirement(_type_at(kind, at))):
        what = requirement
        if isinstance(value, str) and not value.strip():
            value = ...  # "must not be empty, got ''" says nothing more
    elif expected := re.fullmatch(r"Expected `([^`]*)`, got `[^`]*`", what):
        what = "expected " + " or ".join(_NOUNS.get(t, t) for t in expected[1].split(" | "))
    got = "" if value is ... else f", got {show(value, is_secret(path))}"
    return path, what[:1].lower() + what[1:] + got


def _type_at(kind: Any, msgspec_path: str) -> Any:
    """The declared type (with its constraints) of the value at ``$.a[0].b`` in a ``kind``."""
    for name, index in _PATH_PART.findall(msgspec_path[1:]):
        kind = _unwrap(kind)[0]
        if name and isinstance(kind, type) and issubclass(kind, msgspec.Struct):
            kind = next(
                (f.type for f in msgspec.structs.fields(kind) if f.encode_name == name), None
            )
        elif index and typing.get_origin(kind) in (list, tuple):  # list[X], tuple[X, ...]
            kind = typing.get_args(kind)[0]
        else:
            return None
    return kind


def _unwrap(kind: Any) -> tuple[Any, dict[str, Any]]:
    """``X`` of ``X | None`` and of ``Annotated[X, Meta(...)]``, with the Meta's constraints."""
    if type(None) in (args := typing.get_args(kind)):
        kind = next(arg for arg in args if arg is not type(None))
    if typing.get_origin(kind) is not Annotated:
        return kind, {}
    kind, *metas = typing.get_args(kind)
    names = ("ge", "gt", "le", "lt", "min_length", "pattern", "extra")
    meta = {name: getattr(m, name) for m in metas for name in names if getattr(m, name) is not None}
    return kind, meta


def _requirement(declared: Any) -> str | None:
    """What a value must be, said from the constraints declared on its type."""
    kind, meta = _unwrap(declared)
    extra = meta.get("extra", {})
    if "message" in extra:
        return str(extra["message"])
    if typing.get_origin(kind) is Literal:
        return "must be one of " + ", ".join(str(value) for value in typing.get_args(kind))
    if kind in (int, float):
        unit, high = extra.get("unit"), meta.get("le")
        if high == FINITE:
            high = None
        if "ge" in meta and high is not None:
            bounds = f"between {_number(meta['ge'])} and {_number(high)}"
        else:
            ops = (
                (">=", meta.get("ge")),
                (">", meta.get("gt")),
                ("<=", high),
                ("<", meta.get("lt")),
            )
            bounds = " and ".join(f"{op} {_number(n)}" for op, n in ops if n is not None)
        if meta.get("le") == FINITE:  # infinity is out of bounds too
            return f"must be a finite number{f' of {unit}' if unit else ''} {bounds}"
        return f"must be {bounds}{f' {unit}' if unit else ''}"
    if meta.get("min_length") == 1:
        return "must not be empty"
    if "pattern" in meta:
        return f"must match {meta['pattern']}"
    return None


def _number(value: float) -> str:
    """3600 for 3600.0, 0.05 for 0.05."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _lookup(raw: Any, msgspec_path: str) -> Any:
    """The value at ``$.a[0].b`` in ``raw``, or ``...`` if there is none."""
    for name, index in _PATH_PART.findall(msgspec_path[1:]):
        try:
            raw = raw[int(index)] if index else raw[name]
        except (KeyError, IndexError, TypeError):
            return ...
    return raw


def show(value: Any, secret: bool = False) -> str:
    """A value for an error message; for a secret only what kind of value it is."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    kind = next((name for tp, name in _KINDS if isinstance(value, tp)), "")
    if secret or kind in ("", "object"):
        return _NOUNS.get(kind, f"a {type(value).__name__}")
    return quote(value) if kind == "str" else str(value)


def join(path: str, key: object) -> str:
    return ".".join(part for part in (path, str(key)) if part)
