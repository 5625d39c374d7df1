"""Find, read, expand, override and convert FluxRouter's one YAML config file.

Order: parse YAML, expand ``${VAR}`` in string values, apply ``FLUXROUTER_<SECTION>_<KEY>``
overrides, convert with msgspec, check :func:`model.problems`. Failures raise :class:`ConfigError`.
"""

from __future__ import annotations

import json
import os
import re
import typing
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import yaml

from infrastructure.settings.model import Settings, is_secret, problems, quote
from infrastructure.settings.paths import data_directory, resolve_paths

DEFAULT_FILE = "fluxrouter.yaml"
CONFIG_ENV = "FLUXROUTER_CONFIG"
PROFILE_ENV = "FLUXROUTER_PROFILE"  # not a setting: see infrastructure/observability/profiling
OVERRIDE_PREFIX = "FLUXROUTER_"
_REFERENCE = re.compile(
    r"\$\$\{|\$\{(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\})?"
)
_MSGSPEC_ERROR = re.compile(r"(?P<what>.*?)(?: - at `(?P<at>\$[^`]*)`)?")
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_NOUNS = dict(int="an integer", str="a string", float="a number", bool="a boolean", null="null")
_NOUNS.update(object="a mapping", array="a list", decimal="a decimal number")
_KINDS = ((int, "int"), (float, "float"), (Decimal, "decimal"), (str, "str"), (dict, "object"))


class ConfigError(Exception):
    """The configuration is unusable. ``str()`` is one line: ``source: key.path: problem``."""

    def __init__(self, source: str, path: str | None, problem: str) -> None:
        self.source, self.path, self.problem = source, path, problem
        text = ": ".join(part for part in (source, path, problem) if part)
        super().__init__("".join(c if c.isprintable() else repr(c)[1:-1] for c in text))


def load_settings(
    config_path: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[Settings, str | None]:
    """Return the settings and the path of the config file used (``None``: no file, defaults).

    The file is ``config_path`` (``--config``), else ``$FLUXROUTER_CONFIG``, else
    ``./fluxrouter.yaml`` if present, taken from ``cwd`` when relative. Relative paths in the
    settings are taken from the file's directory, or the data directory when there is no file
    (``infrastructure.settings.paths``).
    """
    env = os.environ if environ is None else environ
    base = Path.cwd() if cwd is None else cwd
    given = config_path or env.get(CONFIG_ENV)
    if not given and (base / DEFAULT_FILE).is_file():
        given = DEFAULT_FILE
    label, raw = (given, _read(base / given, given)) if given else ("<no config file>", {})
    try:
        raw = _prepare(_expand_tree(raw, "", env, label), Settings)
    except RecursionError:
        raise ConfigError(label, None, "nested too deeply (an alias inside itself?)") from None
    overridden = _apply_overrides(raw, env)
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
        failure = next(problems(settings), None)
    except msgspec.ValidationError as exc:
        failure = _describe(str(exc), raw)
    if failure is not None:  # an overridden key is reported under its variable's name
        path, problem = failure
        var = overridden.get(path)
        raise ConfigError(var, None, problem) if var else ConfigError(label, path, problem)
    if not given:
        return resolve_paths(settings, data_directory(settings, base)), None
    used = base / given
    return resolve_paths(settings, used.parent), str(used)


def expand_env(text: str, environ: Mapping[str, str]) -> str:
    """Replace ``${VAR}``, ``${VAR:-default}`` (default if unset or empty) and ``$${`` (``${``);
    values are not re-scanned. ValueError: unset variable without default, malformed reference."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group("name"), match.group("default")
        if name is None:
            raise ValueError("malformed reference: use ${NAME} or ${NAME:-default}")
        value = environ.get(name)
        if default is not None and not value:
            return default
        if value is None:
            raise ValueError(f"environment variable {name} is not set")
        return value

    return _REFERENCE.sub(substitute, text)


class _Loader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys in a mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: list[object] = []
        for key_node, _ in node.value:
            if key_node.tag != "tag:yaml.org,2002:merge":
                if (key := self.construct_object(key_node, deep=True)) in seen:
                    problem, mark = f"duplicate key {key!r}", key_node.start_mark
                    raise yaml.MarkedYAMLError(None, None, problem, mark)
                seen.append(key)
        return super().construct_mapping(node, deep)


def _read(path: Path, label: str) -> dict[Any, Any]:
    try:
        data = yaml.load(path.read_bytes().decode("utf-8-sig"), Loader=_Loader)  # noqa: S506
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid UTF-8"
        raise ConfigError(label, None, f"cannot read config file: {reason or exc}") from None
    except yaml.YAMLError as exc:  # no snippet of the file: it may hold secrets
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        parts = (getattr(exc, "context", None), getattr(exc, "problem", None)) if mark else (exc,)
        what = "; ".join(str(part) for part in parts if part)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(label, None, f"{where}invalid YAML: {what}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(label, None, f"top level must be a mapping, got {_show(data, True)}")
    return {k: v for k, v in (data or {}).items() if v is not None}  # `server:` alone is {}


def _expand_tree(value: Any, path: str, environ: Mapping[str, str], label: str) -> Any:
    if isinstance(value, str):
        try:
            return expand_env(value, environ)
        except ValueError as exc:
            raise ConfigError(label, path, str(exc)) from None
    if isinstance(value, list):
        return [_expand_tree(v, f"{path}[{i}]", environ, label) for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    if (bad := next((k for k in value if not isinstance(k, str)), None)) is not None:
        raise ConfigError(label, path, f"key {_show(bad)} must be a string (quote it)")
    return {k: _expand_tree(v, _join(path, k), environ, label) for k, v in value.items()}


def _prepare(value: Any, kind: Any) -> Any:
    """Fit parsed values to ``kind``: ``""`` in an optional field means None; a float in a
    Decimal field becomes ``Decimal(str(value))``, so 0.15 stays exactly 0.15."""
    args = typing.get_args(kind)
    if type(None) in args:
        if value == "":
            return None
        kind = next(arg for arg in args if arg is not type(None))
    if kind is Decimal and isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict) and isinstance(kind, type) and issubclass(kind, msgspec.Struct):
        fields = {f.encode_name: f.type for f in msgspec.structs.fields(kind)}
        return {k: _prepare(v, fields[k]) if k in fields else v for k, v in value.items()}
    if isinstance(value, list) and typing.get_origin(kind) is list:
        return [_prepare(item, typing.get_args(kind)[0]) for item in value]
    return value


def _apply_overrides(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """Put ``FLUXROUTER_<SECTION>_<KEY>`` values into ``raw``; return {key path: variable}."""
    sections = {f.name: f.type for f in msgspec.structs.fields(Settings)}
    overridden: dict[str, str] = {}
    for var in sorted(environ):
        if not var.startswith(OVERRIDE_PREFIX) or var in (CONFIG_ENV, PROFILE_ENV):
            continue
        section, _, key = var[len(OVERRIDE_PREFIX) :].lower().partition("_")
        if section == "providers":
            raise ConfigError(var, None, "providers cannot be overridden from the environment")
        known = msgspec.structs.fields(sections[section]) if section in sections else ()
        field = next((f for f in known if f.name == key), None)
        if field is None:
            raise ConfigError(var, None, f"unknown config key {_join(section, key)} to override")
        text, path, value = environ[var], f"{section}.{key}", None
        nullable = type(None) in typing.get_args(field.type)
        if typing.get_args(field.type) == (str,) and typing.get_origin(field.type) is list:
            value = [part.strip() for part in text.split(",") if part.strip()]  # a,b: a list
        elif not (nullable and text.strip().lower() in ("", "null")):
            try:
                value = msgspec.convert(text, field.type, strict=False)
            except msgspec.ValidationError as exc:
                raise ConfigError(var, None, _describe(str(exc), text, path)[1]) from None
        if isinstance(current := raw.setdefault(section, {}), dict):  # else: the file's error
            current[key] = value
            overridden[path] = var
    return overridden


def _describe(message: str, raw: Any, base: str = "") -> tuple[str, str]:
    """Turn msgspec's ``Expected `int`, got `str` - at `$.server.port``` into
    ``("server.port", 'expected an integer, got "abc"')``, looking the value up in ``raw``."""
    match = _MSGSPEC_ERROR.fullmatch(message)
    what, at = (match["what"], match["at"] or "$") if match else (message, "$")
    path, value = _join(base, at[1:].lstrip(".")), _lookup(raw, at)
    field = re.fullmatch(r"Object (contains unknown|missing required) field `(.*)`", what)
    if field:
        problem = "unknown key" if field[1] == "contains unknown" else "required key is missing"
        return _join(path, field[2]), problem
    if expected := re.fullmatch(r"Expected `([^`]*)`, got `[^`]*`", what):
        what = "expected " + " or ".join(_NOUNS.get(t, t) for t in expected[1].split(" | "))
    got = "" if value is ... else f", got {_show(value, is_secret(path))}"
    return path, what[:1].lower() + what[1:] + got


def _lookup(raw: Any, msgspec_path: str) -> Any:
    """The value at ``$.a[0].b`` in ``raw``, or ``...`` if there is none."""
    for name, index in _PATH_PART.findall(msgspec_path[1:]):
        try:
            raw = raw[int(index)] if index else raw[name]
        except (KeyError, IndexError, TypeError):
            return ...
    return raw


def _show(value: Any, secret: bool = False) -> str:
    """A value for an error message; for a secret only what kind of value it is."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    kind = next((name for tp, name in _KINDS if isinstance(value, tp)), "")
    if secret or kind in ("", "object"):
        return _NOUNS.get(kind, f"a {type(value).__name__}")
    return quote(value) if kind == "str" else str(value)


def _join(path: str, key: object) -> str:
    return ".".join(part for part in (path, str(key)) if part)
