"""The suite's one fake time: a clock that stands still until a test moves it or code sleeps.

`clock()` is the moment as an aware UTC datetime, what the bot's clocks return;
`clock.time()` and `clock.monotonic()` are the same moment in seconds, for code that takes
`time.time` or `time.monotonic`; `await clock.sleep(s)` records `s` in `clock.sleeps` and
moves time on by it, so no test waits for real. Tests move it with `clock.now = ...`,
`clock.now += timedelta(...)` or `clock.seconds += ...`.
"""

from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2026, 3, 2, 13, 25, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime | float = NOW) -> None:
        self.seconds = start.timestamp() if isinstance(start, datetime) else float(start)
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.seconds, UTC)

    @now.setter
    def now(self, moment: datetime) -> None:
        self.seconds = moment.timestamp()

    def time(self) -> float:
        return self.seconds

    monotonic = time

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.seconds += seconds


async def no_retry(delay: float) -> None:
    """A sleep for code that must not wait at all: the test fails if it is asked to."""
    raise AssertionError(f"the client should not have retried (asked to wait {delay}s)")
