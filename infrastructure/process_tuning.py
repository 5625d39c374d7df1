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
