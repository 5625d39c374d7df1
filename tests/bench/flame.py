"""Reading py-spy's collapsed stacks (`py-spy record --format raw`): where the samples went.

Each line is ``frame;frame;...;frame COUNT``, outermost first, each frame ``func (file:line)``.
Two views: *self* (the innermost Python frame, by package: time in C code called from Python
counts for its caller) and *inclusive* (samples whose stack passes through a named function).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]*)(?::\d+)?\)$")

# (label, path fragments): the first whose fragment is in the frame's file wins.
PACKAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("uvicorn + httptools (HTTP server)", ("uvicorn/", "httptools/")),
    ("litestar (routing, request, response)", ("litestar/",)),
    ("aiohttp (upstream client)", ("aiohttp/", "multidict/", "yarl/")),
    ("redis-py (limits)", ("redis/",)),
    ("SQLAlchemy + driver (outbox, billing, audit)", ("sqlalchemy/", "psycopg", "aiosqlite/")),
    ("structlog + logging", ("structlog/", "logging/")),
    ("prometheus_client (metrics)", ("prometheus_client/",)),
    ("dramatiq (projection queue)", ("dramatiq/",)),
    ("asyncio (event loop, tasks)", ("asyncio/", "uvloop/", "contextvars")),
    ("fluxrouter: interfaces", ("interfaces/",)),
    ("fluxrouter: application", ("application/",)),
    ("fluxrouter: infrastructure", ("infrastructure/",)),
    ("fluxrouter: domains", ("domains/",)),
)


def read(path: Path) -> list[tuple[list[str], int]]:
    stacks: list[tuple[list[str], int]] = []
    for line in path.read_text(errors="replace").splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((frames.split(";"), int(count)))
    return stacks


def package_of(frame: str) -> str:
    match = _FRAME.match(frame)
    where = match.group("file") if match else frame
    for label, fragments in PACKAGES:
        if any(fragment in where for fragment in fragments):
            return label
    return "other (stdlib, threads)"


def self_by_package(stacks: Iterable[tuple[list[str], int]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for frames, count in stacks:
        out[package_of(frames[-1])] += count
    return out


def inclusive(
    stacks: Iterable[tuple[list[str], int]], focus: Iterable[tuple[str, str]]
) -> Counter[str]:
    """Samples per label whose stack has a frame containing the label's fragment."""
    wanted = list(focus)
    out: Counter[str] = Counter()
    for frames, count in stacks:
        for label, fragment in wanted:
            if any(fragment in frame for frame in frames):
                out[label] += count
    return out


def top_self_functions(stacks: Iterable[tuple[list[str], int]], n: int = 25) -> Counter[str]:
    out: Counter[str] = Counter()
    for frames, count in stacks:
        match = _FRAME.match(frames[-1])
        out[f"{match.group('func')} ({match.group('file')})" if match else frames[-1]] += count
    return Counter(dict(out.most_common(n)))
