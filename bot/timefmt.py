"""Time as text: durations the way people type and read them, moments the way the store keeps them.

Pure. `parse_duration` is the grammar's and the configuration's reading of `45m`, `4h`,
`1d`; `typed_duration` writes minutes back that way (the `minutes` filter writes them in
`words.yml`'s units). `now_iso` and `iso_ms` are
the two spellings of a UTC moment in SQLite: seconds for runs and alerts, milliseconds
with `Z` for survey responses (fixed width, so text order is time order).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

DURATION = re.compile(r"^([0-9]+)\s*(m|min|mins|h|hr|hrs|d|day|days)?$")
_FACTOR = {"m": 1, "h": 60, "d": 1440}
LONGEST = 3650 * 1440  # minutes: ten years, beyond any report; past it numbers stop being time


class TooLong(ValueError):
    """A duration beyond `LONGEST`: a number beyond reason, not a timeframe."""


def parse_duration(text: str) -> int:
    """`45m`, `4h`, `1d` or a bare number of minutes -> minutes; ValueError otherwise."""
    match = DURATION.match(text.strip().lower())
    if not match:
        raise ValueError(f"`{text[:40]}` is not a duration like 45m, 4h or 1d")
    digits = match.group(1).lstrip("0") or "0"
    if len(digits) > len(str(LONGEST)):  # never int() thousands of digits
        raise TooLong(f"`{text[:40]}` is longer than {LONGEST // 1440} days")
    minutes = int(digits) * _FACTOR[(match.group(2) or "m")[0]]
    if minutes <= 0:
        raise ValueError(f"`{text[:40]}` is not a positive duration")
    if minutes > LONGEST:
        raise TooLong(f"`{text[:40]}` is longer than {LONGEST // 1440} days")
    return minutes


def typed_duration(minutes: int) -> str:
    """Minutes as the file and the commands type them, `parse_duration` read backwards:
    45m, 24h, 7d (days only beyond two of them, as people say 48h)."""
    if minutes % 60:
        return f"{minutes}m"
    hours = minutes // 60
    return f"{hours // 24}d" if hours > 48 and hours % 24 == 0 else f"{hours}h"


def now_iso(moment: datetime | None = None) -> str:
    """A moment as UTC ISO 8601 to the second: how runs, snapshots and alerts keep time."""
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


def iso_ms(moment: datetime) -> str:
    """UTC with milliseconds and `Z`: fixed width, so text order is time order."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
