"""The garbage collector of a serving process, tuned for many short-lived request objects.

With CPython's defaults (a young collection every 700 net container allocations), the objects
of the requests in flight survive a young collection or two and are promoted to the oldest
generation, where they die; every few seconds that generation is collected whole, walking the
few hundred thousand objects the application made at start (routes, models, SQLAlchemy, the
token vocabulary's tables): about a fifth of a request's CPU under load. So, once started:

* `gc.freeze()` moves everything alive then into a permanent generation no collection walks;
* a young collection only every `YOUNG_THRESHOLD` net allocations, so request objects mostly
  die by reference counting before any collection sees them. Cyclic garbage is still
  collected, a little later; memory stays flat (`make bench-memory`).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000
OLDER_THRESHOLDS = (50, 100)


def settle_heap() -> None:
    """Collect what start-up left, freeze the rest, and space the collections out."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)


NR_OPEN = "/proc/sys/fs/nr_open"  # Linux: the most a process's open-files limit may be


def raise_open_files_limit() -> int:
    """The process's soft limit on open files raised to its hard limit (every client
    connection is one); the limit now in force. The processes it starts inherit it."""
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if target == resource.RLIM_INFINITY:
        target = _kernel_ceiling()
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft


def open_files_limit() -> int | None:
    """The soft limit on open files in force; None where there is none to read."""
    try:
        import resource
    except ImportError:
        return None
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def _kernel_ceiling() -> int:
    try:
        with open(NR_OPEN) as ceiling:
            return int(ceiling.read().strip())
    except (OSError, ValueError):
        return 1 << 20
