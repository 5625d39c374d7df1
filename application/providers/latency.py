"""The measured latency of each model: an exponentially weighted moving average of its recent
answered calls, in this process, fed with every finished call the pipeline records."""

from __future__ import annotations

from application.providers.completions.pipeline import Recorder
from domains.providers.events import CompletionFinished

ALPHA = 0.2
"""The weight of the newest call in the average."""


class EwmaLatency:
    """`ModelLatency` in process: per qualified model name (`provider/name`), the average of
    its calls that answered (status 200), failures and cancelled calls left out."""

    def __init__(self, alpha: float = ALPHA) -> None:
        self._alpha = alpha
        self._average: dict[str, float] = {}

    def observe(self, model_name: str, latency_ms: float) -> None:
        last = self._average.get(model_name)
        self._average[model_name] = (
            latency_ms if last is None else last + self._alpha * (latency_ms - last)
        )

    def latency_ms(self, model_name: str) -> float | None:
        return self._average.get(model_name)


class TimedRecorder:
    """A recorder that also tells `latency` how long each answered call took."""

    def __init__(self, recorder: Recorder, latency: EwmaLatency) -> None:
        self._recorder = recorder
        self._latency = latency

    def record(self, event: CompletionFinished) -> None:
        if event.outcome == "ok" and event.status == 200:
            self._latency.observe(f"{event.provider}/{event.model}", event.latency_ms)
        self._recorder.record(event)
