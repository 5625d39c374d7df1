"""Warnings and errors the servers logged while under load (JSON lines or plain text)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

_BAD_LEVELS = {"warning", "warn", "error", "critical", "exception", "fatal"}
_BAD_WORDS = ("Traceback", "ERROR", "WARNING", "Exception", "Error:")
_EXC_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b")
_NOISY_FIELDS = {"timestamp", "level", "event", "exception", "events", "logger"}
_IDS = re.compile(r"\b[0-9a-f]{16,}\b")
_TIMES = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+Z?")
_EVENT_CHARS = 240


def problems(log_path: Path, *, limit: int = 20) -> list[dict[str, Any]]:
    """Distinct warning/error lines of `log_path`, most frequent first.

    Each entry: ``count``, a one-line ``summary`` (level, event, small fields and the last line
    of any exception) and the first full ``line`` seen. JSON lines are grouped by summary minus
    timestamps and ids; plain lines by their text.
    """
    if not log_path.exists():
        return []
    counts: Counter[str] = Counter()
    first_line: dict[str, str] = {}
    for raw in log_path.read_text(errors="replace").splitlines():
        line = raw.strip()
        key = _problem_key(line)
        if key is None:
            continue
        counts[key] += 1
        first_line.setdefault(key, line)
    return [{"count": n, "summary": k, "line": first_line[k]} for k, n in counts.most_common(limit)]


def _problem_key(line: str) -> str | None:
    if not line:
        return None
    if line.startswith("{"):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            return _json_key(record)
    if line.startswith("fluxrouter:") or not any(word in line for word in _BAD_WORDS):
        return None
    return line


def _json_key(record: dict[str, Any]) -> str | None:
    level = str(record.get("level", record.get("levelname", ""))).lower()
    if level not in _BAD_LEVELS:
        return None
    parts = [level, _shorten(str(record.get("event", record.get("message", ""))))]
    for name, value in record.items():
        if name not in _NOISY_FIELDS and isinstance(value, str | int | float | bool):
            parts.append(f"{name}={value}")
    exception = record.get("exception")
    if isinstance(exception, str) and exception.strip():
        parts.append("→ " + _exception_line(exception))
    return " ".join(parts)


def _shorten(event: str) -> str:
    """An event's text without ids and times (alike ones group together), and not too long: a
    worker's log names every message it failed, arguments and all."""
    event = _TIMES.sub("<time>", _IDS.sub("<id>", event))
    return event if len(event) <= _EVENT_CHARS else event[:_EVENT_CHARS] + "…"


def _exception_line(text: str) -> str:
    """The `module.SomeError: message` line of a traceback (the last one, if chained)."""
    lines = text.strip().splitlines()
    for line in reversed(lines):
        if _EXC_LINE.match(line):
            return line
    return lines[-1]
