"""Find, read, expand, override and convert FluxRouter's one YAML config file.

Order: parse YAML, expand ``${VAR}`` in string values, apply ``FLUXROUTER_<SECTION>_<KEY>``
overrides, convert with msgspec (which checks the constraints the structs declare). Failures
raise :class:`ConfigError` (``infrastructure.settings.errors``).
"""

from __future__ import annotations

import os
import re
import typing
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import yaml

from infrastructure.settings.errors import ConfigError, describe, join, show
from infrastructure.settings.model import Settings
from infrastructure.settings.paths import data_directory, resolve_paths

__all__ = ["ConfigError", "expand_env", "load_settings"]

DEFAULT_FILE = "fluxrouter.yaml"
CONFIG_ENV = "FLUXROUTER_CONFIG"
PROFILE_ENV = "FLUXROUTER_PROFILE"  # not a setting: see infrastructure/observability/profiling
OVERRIDE_PREFIX = "FLUXROUTER_"
_REFERENCE = re.compile(
    r"\$\$\{|\$\{(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\})?"
)


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
    except msgspec.ValidationError as exc:
        path, problem = describe(str(exc), raw, Settings)
        var = _variable_of(path, overridden)  # an overridden key: named by its variable
        error = ConfigError(var, None, problem) if var else ConfigError(label, path, problem)
        raise error from None
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
        raise ConfigError(label, None, f"top level must be a mapping, got {show(data, True)}")
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
        raise ConfigError(label, path, f"key {show(bad)} must be a string (quote it)")
    return {k: _expand_tree(v, join(path, k), environ, label) for k, v in value.items()}


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


def _section_and_key(name: str, sections: Mapping[str, object]) -> tuple[str, str]:
    """`request_log_retention_days` → (`request_log`, `retention_days`): the longest section
    name the variable starts with (a section's name may hold `_`), else up to its first `_`."""
    for section in sorted(sections, key=len, reverse=True):
        if name.startswith(section + "_"):
            return section, name[len(section) + 1 :]
    section, _, key = name.partition("_")
    return section, key


def _apply_overrides(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """Put ``FLUXROUTER_<SECTION>_<KEY>`` values into ``raw``; return {key path: variable}.

    A value is converted to its key's type without the constraints declared on it: those are
    checked with the whole configuration's, which names the variable of a key it refuses."""
    sections = {f.name: f.type for f in msgspec.structs.fields(Settings)}
    overridden: dict[str, str] = {}
    for var in sorted(environ):
        if not var.startswith(OVERRIDE_PREFIX) or var in (CONFIG_ENV, PROFILE_ENV):
            continue
        section, key = _section_and_key(var[len(OVERRIDE_PREFIX) :].lower(), sections)
        if section == "providers":
            raise ConfigError(var, None, "providers cannot be overridden from the environment")
        known = typing.get_type_hints(sections[section]) if section in sections else {}
        if key not in known:
            raise ConfigError(var, None, f"unknown config key {join(section, key)} to override")
        text, path, value, kind = environ[var], f"{section}.{key}", None, known[key]
        nullable = type(None) in typing.get_args(kind)
        if typing.get_args(kind) == (str,) and typing.get_origin(kind) is list:
            value = [part.strip() for part in text.split(",") if part.strip()]  # a,b: a list
        elif not (nullable and text.strip().lower() in ("", "null")):
            try:
                value = msgspec.convert(text, kind, strict=False)
            except msgspec.ValidationError as exc:
                raise ConfigError(var, None, describe(str(exc), text, kind, path)[1]) from None
        if isinstance(current := raw.setdefault(section, {}), dict):  # else: the file's error
            current[key] = value
            overridden[path] = var
    return overridden


def _variable_of(path: str, overridden: dict[str, str]) -> str | None:
    """The variable that set the key at ``path`` (``server.cors_origins[1]``), if one did."""
    for key, var in overridden.items():
        if path == key or path.startswith((f"{key}[", f"{key}.")):
            return var
    return None
