"""Time for tests: sleeps that only record."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Waits:
    """A `sleep` that records how long it was asked to wait, and returns at once."""

    seconds: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.seconds.append(delay)
