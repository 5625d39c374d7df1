"""The periodic jobs of the projection worker: a thread that sends the analytics fold every
`workers.analytics_every_seconds` and the summaries every `workers.summaries_every_seconds`.
Sent twice (two workers ticking), a job waits for the other: each takes the same lock first."""

from __future__ import annotations

import threading
import time

import structlog

from infrastructure.settings.background import WorkerSettings
from interfaces.worker.actors import Actors

log = structlog.get_logger()


class Ticker:
    def __init__(self, actors: Actors, settings: WorkerSettings) -> None:
        self._actors = actors
        self._settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._settings.analytics_every_seconds <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="analytics-ticker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        every = self._settings.analytics_every_seconds
        summaries_every = self._settings.summaries_every_seconds
        next_summary = time.monotonic()
        while not self._stop.wait(every):
            try:
                self._actors.fold_analytics.send(self._settings.analytics_settle_seconds)
                if time.monotonic() >= next_summary:
                    self._actors.summarize_analytics.send()
                    next_summary = time.monotonic() + summaries_every
            except Exception:  # the broker is down: the next tick tries again
                log.exception("analytics.tick_failed")
