"""The one clock the tests move by hand, for code that takes a `clock: Callable[[], float]`
(rate-limit buckets, budget reservations, refusal throttles, key-cache expiry)."""


class FakeClock:
    """Seconds, as `time.time()` or `time.monotonic()` give them, that pass only when the test
    says: `clock.now += 5`, `clock.advance(5)`, or `clock.ms += 1` for a test that counts in
    whole milliseconds (every reading is then exactly `ms / 1000`, with no float drift).

    With a `step`, each reading first moves the clock on by that much: a clock that ticks as it is
    read (a step of a second makes every caller slow; a step of 0 stands still)."""

    def __init__(self, now: float = 1_000.0, *, step: float = 0.0) -> None:
        self.now = now
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    @property
    def ms(self) -> int:
        return round(self.now * 1000)

    @ms.setter
    def ms(self, value: int) -> None:
        self.now = value / 1000
