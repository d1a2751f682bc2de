"""Pure filters: numbers into the characters people read (bars, sparks, points, durations)."""

from __future__ import annotations

import re
from collections.abc import Sequence

_EIGHTHS = " ▏▎▍▌▋▊▉█"
_SPARK = "▁▂▃▄▅▆▇█"


def pct(fraction: float | None, digits: int = 1) -> str:
    """0.8853 -> 88.5%; None (nobody answered) -> —."""
    return "—" if fraction is None else f"{fraction * 100:.{digits}f}%"


def bar(fraction: float, width: int = 20) -> str:
    """A horizontal bar in eighth blocks, padded to `width` so columns line up."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, rest = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[rest] if rest else "")
    return text.ljust(width)


def spark(values: Sequence[float]) -> str:
    """One character per value, scaled to the largest; zero is a dot."""
    top = max(values, default=0) or 1
    return "".join(
        "·" if not v else _SPARK[min(len(_SPARK) - 1, int(v / top * (len(_SPARK) - 1) + 0.5))]
        for v in values
    )


def points(change: float | None, unit: str = "") -> str:
    """A change in percentage points: ▲ 2.1, ▼ 3.4, = 0.0; `new` without a previous value."""
    if change is None:
        return "new"
    if abs(change) < 0.05:
        return "= 0.0" + unit
    return f"{'▲' if change > 0 else '▼'} {abs(change):.1f}{unit}"


def delta_duration(change: float | None) -> str:
    """A change in seconds as ▲ 35m / ▼ 1h 5m / =; `new` without a previous value."""
    if change is None:
        return "new"
    if abs(change) < 60:
        return "="
    return f"{'▲' if change > 0 else '▼'} {duration(abs(change))}"


def duration(seconds: float | None) -> str:
    """Seconds the way people read them: 4714 -> 1h 18m, 125 -> 2m 5s, 45 -> 45s."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs and minutes < 10 else f"{minutes}m"
    return f"{secs}s" if secs else "0m"


ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def mrkdwn_escape(text: str) -> str:
    """Text from outside (names, vendor messages) safe inside mrkdwn."""
    return re.sub(r"[&<>]", lambda m: ESCAPES[m.group()], str(text))
