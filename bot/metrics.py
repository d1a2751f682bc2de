"""Pure data and arithmetic: CSAT distributions and the windows they really cover.

Nothing here does I/O or reads the clock; `now` is always an argument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

BUCKET_MINUTES = 5


@dataclass(frozen=True)
class CsatCounts:
    """Answers per score 1..5, as counted by the vendor."""

    scores: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    total: int = 0
    positive: int = 0

    @classmethod
    def from_scores(cls, scores: tuple[int, int, int, int, int]) -> CsatCounts:
        """Counts whose total and positives (4 and 5) follow from the scores."""
        return cls(scores, sum(scores), scores[3] + scores[4])

    @property
    def score(self) -> float | None:
        """Share of positive answers, 0..1; None when nobody answered."""
        return self.positive / self.total if self.total else None

    def share(self, score: int) -> float:
        """Share of answers that gave `score` (1..5)."""
        return self.scores[score - 1] / self.total if self.total else 0.0

    def __add__(self, other: CsatCounts) -> CsatCounts:
        scores = tuple(a + b for a, b in zip(self.scores, other.scores, strict=True))
        return CsatCounts(scores, self.total + other.total, self.positive + other.positive)  # type: ignore[arg-type]


@dataclass(frozen=True)
class CsatRow:
    """One skill, agent or group with its counts; a skill may carry its agents."""

    kind: str
    id: str
    name: str
    counts: CsatCounts
    agents: tuple[CsatRow, ...] = ()


@dataclass(frozen=True)
class Window:
    """The time a report covers, next to the time that was asked for (all UTC)."""

    asked_start: datetime
    start: datetime
    end: datetime

    @property
    def widened(self) -> bool:
        """True when the vendor's buckets reach back before what was asked."""
        return self.start < self.asked_start


def floor_to_bucket(moment: datetime, minutes: int = BUCKET_MINUTES) -> datetime:
    """The start of the bucket `moment` falls in."""
    moment = moment.replace(second=0, microsecond=0)
    return moment - timedelta(minutes=moment.minute % minutes)


def bucket_window(now: datetime, timeframe_minutes: int) -> Window:
    """What LivePerson's 5-minute buckets really cover when asked for the last N minutes.

    At 13:29 with a 7-minute timeframe the API reads buckets 13:25 and 13:30, so the data
    spans 13:20-13:29, not 13:22-13:29.
    """
    asked = now - timedelta(minutes=timeframe_minutes)
    return Window(asked_start=asked, start=floor_to_bucket(asked), end=now)


def exact_window(now: datetime, timeframe_minutes: int) -> Window:
    """A window that is exactly what was asked (sources without buckets)."""
    asked = now - timedelta(minutes=timeframe_minutes)
    return Window(asked_start=asked, start=asked, end=now)


@dataclass(frozen=True)
class CsatReport:
    """A CSAT answer: the totals, the rows behind them, and the window they cover."""

    source: str
    vendor: str
    scope: str  # account | skill | agent | group
    window: Window
    total: CsatCounts
    rows: tuple[CsatRow, ...] = ()
    fetched_at: datetime | None = None
    notes: tuple[str, ...] = field(default=())

    def ranked(self) -> tuple[CsatRow, ...]:
        """Rows with the most answers first: where the score means the most."""
        return tuple(sorted(self.rows, key=lambda r: (-r.counts.total, _natural(r.name))))


def _natural(text: str) -> tuple[str | int, ...]:
    """ "Skill 13" after "Skill 9": digits compare as numbers."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))
