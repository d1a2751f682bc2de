"""`/csat trend`: the score per local day (per ISO week beyond a month), each with its 95 %
Wilson interval, so a lead sees whether a dip is real; and the chart a lead can post to the
channel the command was typed in.

Where the days come from: LivePerson keeps 24 hours, so its trend is read from the bot's
own hourly history (`history.queries.csat_series`; for `all`, the busiest ranked first in
SQL by `csat_top`, so Python folds only the lines shown), with what the history covers
said in words, read in one snapshot; `ingested` from the stored survey responses
(`DailyCounts`, the survey feature's query, wired by app.py); LiveChat's reports are read
as totals, so its trend is refused as a usage problem until it is read day by day.

The pure parts take `now` as an argument: `period` (the days asked, in the configured zone),
`trend_lines` (series -> the lines people read) and `Redraw` (what the "Post chart to
channel" button carries, read back as untrusted text). `Trends` reads the store on its
thread, computes off the loop, and draws the chart in a worker thread.
"""

from __future__ import annotations

import importlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.commands.grammar import DAILY_UP_TO, LONGEST_ID, TREND_LONGEST, TREND_SHORTEST
from bot.db import Store, reading
from bot.errors import UsageError
from bot.history import queries as history
from bot.history.source import LATE
from bot.metrics import CsatCounts, wilson
from bot.offloop import off_loop
from bot.query import SOURCES, Ids, Query
from bot.render import Message, Renderer
from bot.sources import Source, Sources

FEW = 10  # answers over the period: fewer, and an entity's score would mislead
ENTITIES = 4  # entities beside the total, as the chart draws them (`charts.ENTITY_LINES`)
LISTED = 12  # entities asked for by id that get a line of their own
VALUE_LIMIT = 2000  # characters: Slack's limit on a button's value
MOST_IDS = 100  # ids a button carries at most
HOURLY = ("liveperson",)  # sources read from the bot's hourly history
HOUR = timedelta(hours=1)
Step = Literal["day", "week"]
Series = dict[str, list[tuple[date, CsatCounts]]]
# (entity kind, entity id, start, end) of an alert: the chart shades its window
AlertWindow = tuple[str, str, datetime, datetime]
BandPoint = tuple[datetime, float | None, float | None, float | None]  # when, score, low, high
_CHANNEL = re.compile(r"[CDG][A-Z0-9]{2,30}")
# an id as the sources give them: LivePerson's numbers, LiveChat's e-mails, any text an
# ingested survey names its agent by ("zoë", "Ana Lopez"). Ids only reach parameterised SQL
# and escaped rendering; refused: control characters, line breaks, lone surrogates, length
_ID = re.compile(rf"[^\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]{{1,{LONGEST_ID}}}")


class DailyCounts(Protocol):
    """Answers per 1-5 score by local day and agent, for [start, end) split at `bounds`:
    (day ordinal, start, end) ISO moments (`surveys.queries.daily_distribution`)."""

    def __call__(
        self, db: Database, bounds: Sequence[tuple[int, str, str]], agents: tuple[str, ...] | None
    ) -> dict[tuple[int, str], tuple[int, int, int, int, int]]: ...


class AlertWindows(Protocol):
    """Alerts of one source and metric whose windows meet [since, until)
    (`alerts.queries.alert_windows`)."""

    def __call__(
        self, db: Database, source: str, metric: str, since: datetime, until: datetime
    ) -> list[AlertWindow]: ...


# --- the period -------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The days a trend covers: whole local days (weeks from a Monday) up to `end`."""

    start: datetime  # UTC: local midnight of the first day
    end: datetime  # UTC: now, or the last whole hour for a source read from hourly history
    step: Step
    first: date  # the first day (a Monday for weeks)
    last: date  # today, locally
    days: int  # the days asked for

    @property
    def shown(self) -> int:
        """The days the lines show, today included: the days asked, and for weeks the days
        of the first week before them (its Monday is up to 6 days earlier)."""
        return (self.last - self.first).days + 1

    @property
    def keys(self) -> tuple[date, ...]:
        """Each line's day (or week's Monday), oldest first."""
        every = 7 if self.step == "week" else 1
        count = (self.last - self.first).days // every + 1
        return tuple(self.first + timedelta(days=every * i) for i in range(count))


def period(now: datetime, timeframe: int, zone: ZoneInfo, hourly: bool) -> Period:
    """The last `timeframe` minutes as local days, today the last of them; by week (whole
    ISO weeks, from a Monday) beyond `DAILY_UP_TO` days. `hourly`: the end is the start
    of the hour, as far as an hourly history can reach."""
    days = max(1, math.ceil(timeframe / 1440))
    step: Step = "day" if days <= DAILY_UP_TO else "week"
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    if step == "week":
        first -= timedelta(days=first.weekday())
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = now.astimezone(UTC)
    if hourly:
        end = end.replace(minute=0, second=0, microsecond=0)
    return Period(start, max(start, end), step, first, today, days)


def day_bounds(span: Period, zone: ZoneInfo) -> list[tuple[int, str, str]]:
    """Each local day of the period as (ordinal, start, end) in the store's ISO spelling
    (milliseconds, `Z`): the survey responses are counted by day in one query."""
    bounds = []
    day = span.first
    while day <= span.last:
        low = max(span.start, datetime.combine(day, time(), zone).astimezone(UTC))
        high = min(
            span.end, datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
        )
        if high > low:
            bounds.append((day.toordinal(), _iso_ms(low), _iso_ms(high)))
        day += timedelta(days=1)
    return bounds


def _iso_ms(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def fold(
    by_day: Mapping[tuple[int, str], tuple[int, int, int, int, int]], unit: str, step: Step
) -> Series:
    """Per (day, agent) scores -> series as `csat_series` gives them: "" the total of
    what was asked, then each agent when the unit is agents; weeks keyed by their Monday."""
    series: dict[str, dict[date, CsatCounts]] = {}
    for (day, agent), scores in sorted(by_day.items()):
        when = date.fromordinal(day)
        if step == "week":
            when -= timedelta(days=when.weekday())
        counts = CsatCounts.from_scores(scores)
        for name in ("", agent) if unit == "agent" else ("",):
            kept = series.setdefault(name, {})
            kept[when] = kept[when] + counts if when in kept else counts
    return {entity: sorted(points.items()) for entity, points in series.items()}


# --- the lines ------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One day (or week): its answers and the 95 % interval of its score."""

    when: date
    counts: CsatCounts
    low: float | None = None  # None: nobody answered
    high: float | None = None

    @property
    def score(self) -> float | None:
        return self.counts.score


@dataclass(frozen=True)
class Line:
    """One entity over the period: its days, its total with interval, its spark."""

    kind: str  # account | skill | agent | group | together (the ids asked, as one)
    id: str
    points: tuple[Point, ...]
    total: CsatCounts
    low: float | None
    high: float | None
    levels: tuple[float, ...]  # for the `spark` filter: 0 where nobody answered

    @property
    def few(self) -> bool:
        """Too few answers over the period for a score that would not mislead."""
        return self.total.total < FEW

    @property
    def score(self) -> float | None:
        return self.total.score


@dataclass(frozen=True)
class Coverage:
    """What part of a trend's hours the bot's own history holds (LivePerson)."""

    hours: int  # hours of the period collected
    of: int  # hours in the period
    since: datetime | None  # the oldest hour kept; None: nothing collected yet

    @property
    def full(self) -> bool:
        return self.hours >= self.of


@dataclass(frozen=True)
class TrendReport:
    """What `/csat trend` answers: the lines, and how to redraw them as a chart."""

    source: str
    unit: str
    ids: Ids | None
    period: Period
    main: Line  # one line per day or week
    entities: tuple[Line, ...]  # a spark line each, busiest first
    more: int  # entities with answers not listed
    coverage: Coverage | None = None
    redraw: str = ""  # the button's value; "" when it cannot be carried


def levels(points: Sequence[Point]) -> tuple[float, ...]:
    """Scores as spark levels: the lowest day ▁, the best █, and a spread under ten points
    drawn as what it is, not stretched over the whole height; 0 (·) where nobody answered."""
    scores = [p.score for p in points if p.score is not None]
    if not scores:
        return tuple(0.0 for _ in points)
    top = max(scores)
    bottom = min(min(scores), top - 0.10)
    return tuple(
        0.0 if p.score is None else 0.05 + 0.95 * (p.score - bottom) / (top - bottom)
        for p in points
    )


def line(
    kind: str, id: str, found: Sequence[tuple[date, CsatCounts]], keys: Sequence[date]
) -> Line:
    """One entity's points on every day of the period, days without answers included."""
    by_day = dict(found)
    points = []
    for when in keys:
        counts = by_day.get(when, CsatCounts())
        low, high = wilson(counts.positive, counts.total) if counts.total else (None, None)
        points.append(Point(when, counts, low, high))
    total = sum((p.counts for p in points), CsatCounts())
    low, high = wilson(total.positive, total.total) if total.total else (None, None)
    return Line(kind, id, tuple(points), total, low, high, levels(points))


def trend_lines(
    series: Mapping[str, Sequence[tuple[date, CsatCounts]]],
    span: Period,
    unit: str,
    ids: Ids | None,
    answering: int | None = None,
) -> tuple[Line, tuple[Line, ...], int]:
    """The total's line, the entities' lines (busiest first) and how many more answered.

    The total is the account for the whole account and for `all`, the entity itself for
    one id, and the ids asked for as one for several. Beside it: the top `ENTITIES` of
    `all`; up to `LISTED` of the ids asked for, those nobody answered for included.
    `answering`: how many entities of `all` had answers, when `series` holds only the
    busiest (`history.queries.csat_top` ranked them in SQL)."""
    keys = span.keys
    if unit == "account":
        return line("account", "", series.get("", ()), keys), (), 0
    if isinstance(ids, tuple) and len(ids) == 1:
        only = ids[0]
        return line(unit, only, series.get(only, series.get("", ())), keys), (), 0
    kind = "account" if ids in (None, "all") else "together"
    main = line(kind, "", series.get("", ()), keys)
    answered = {e: sum((c.total for _, c in points), 0) for e, points in series.items() if e}
    if ids in (None, "all"):
        ranked = sorted(answered, key=lambda e: (-answered[e], e))
        shown = ranked[:ENTITIES]
    else:
        asked = list(ids or ())
        ranked = sorted(asked, key=lambda e: (-answered.get(e, 0), asked.index(e)))
        shown = ranked[:LISTED]
    lines = tuple(line(unit, e, series.get(e, ()), keys) for e in shown)
    more = len([e for e in ranked[len(shown) :] if answered.get(e)])
    if answering is not None and ids in (None, "all"):
        more = max(0, answering - len(shown))
    return main, lines, more


# --- the button -------------------------------------------------------------------------


@dataclass(frozen=True)
class Redraw:
    """What the "Post chart to channel" button carries to draw the answer's chart again:
    the query, the end of its period, and the channel the command was typed in."""

    source: str
    unit: str
    ids: Ids | None
    timeframe: int  # minutes
    end: int  # unix seconds: the period's end, so the chart shows what the answer showed
    channel: str

    def value(self) -> str:
        """The button's value; "" (no button) unless `read` takes it back as it is: a
        button refused on every click is worse than none (longer than Slack allows, more
        than `MOST_IDS` ids, an id `read` would refuse)."""
        ids = None if self.ids is None else "all" if self.ids == "all" else list(self.ids)
        text = json.dumps(
            {"s": self.source, "u": self.unit, "i": ids, "t": self.timeframe, "e": self.end,
             "c": self.channel},
            separators=(",", ":"), ensure_ascii=True,
        )  # fmt: skip
        try:
            written = datetime.fromtimestamp(self.end, UTC)  # read as if clicked at once
        except (OverflowError, OSError, ValueError):
            return ""
        return text if Redraw.read(text, written) == self else ""

    @classmethod
    def read(cls, value: object, now: datetime) -> Redraw | None:
        """The button's value read back, or None for anything the bot did not write: a
        value is text from outside, checked field by field before any of it is used."""
        if not isinstance(value, str) or not 0 < len(value) <= VALUE_LIMIT:
            return None
        try:
            found = json.loads(value)
        except ValueError:
            return None
        if not isinstance(found, dict) or set(found) != {"s", "u", "i", "t", "e", "c"}:
            return None
        source, unit, ids, timeframe, end, channel = (found[k] for k in "suitec")
        if source not in SOURCES or unit not in ("account", "skill", "agent", "group"):
            return None
        if not (_number(timeframe) and TREND_SHORTEST <= timeframe <= TREND_LONGEST):
            return None
        latest = now.timestamp() + 300
        if not (_number(end) and latest - TREND_LONGEST * 60 - 86400 <= end <= latest):
            return None
        if not isinstance(channel, str) or not _CHANNEL.fullmatch(channel):
            return None
        read = _ids(ids, unit)
        if read is False:
            return None
        return cls(source, unit, read, timeframe, end, channel)


def _number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _ids(ids: object, unit: str) -> Ids | Literal[False] | None:
    """The ids a value carries, or False when they are not what the bot writes."""
    if unit == "account":
        return None if ids is None else False
    if ids == "all":
        return "all"
    if not isinstance(ids, list) or not 0 < len(ids) <= MOST_IDS:
        return False
    if not all(isinstance(i, str) and _ID.fullmatch(i) for i in ids):
        return False
    return tuple(ids)


# --- the service ------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """A drawn chart and what goes with it when posted."""

    png: bytes
    filename: str
    title: str
    comment: str


class Trends:
    """Answers `/csat trend` and draws its chart, from the store."""

    def __init__(
        self,
        sources: Sources,
        renderer: Renderer,
        store: Store,
        zone: ZoneInfo,
        clock: Callable[[], datetime],
        daily: DailyCounts | None = None,
        alerts: AlertWindows | None = None,
    ) -> None:
        self.sources = sources
        self.renderer = renderer
        self.store = store
        self.zone = zone
        self.clock = clock
        self.daily = daily
        self.alerts = alerts

    def resolve(self, query: Query) -> tuple[Query, Source]:
        """The source of a trend, checked by `Sources.resolve` (configured, its units, its
        ids) with no vendor timeframe limit: a trend reads the bot's store, never the vendor."""
        name = query.source or self.sources.default
        unavailable = name not in (*HOURLY, "ingested") or (name == "ingested" and not self.daily)
        if name is not None and self.sources.get(name) is not None and unavailable:
            raise UsageError("trend_unavailable", query.command, source=name)
        asked = replace(query, timeframe=min(query.timeframe, 60), trend=False)
        checked, source = self.sources.resolve(asked)
        return replace(query, source=checked.source), source

    async def report(self, query: Query, now: datetime, channel: str = "") -> TrendReport:
        """The trend of a resolved query over the period ending `now`."""
        assert query.source is not None
        span = period(now, query.timeframe, self.zone, query.source in HOURLY)
        series, coverage, answering = await self._series(query.source, query.unit, query.ids, span)
        main, entities, more = await off_loop(
            trend_lines, series, span, query.unit, query.ids, answering
        )
        redraw = ""
        if channel and _CHANNEL.fullmatch(channel):
            redraw = Redraw(query.source, query.unit, query.ids, query.timeframe,
                            int(span.end.timestamp()), channel).value()  # fmt: skip
        return TrendReport(query.source, query.unit, query.ids, span, main, entities, more,
                           coverage, redraw)  # fmt: skip

    async def answer(self, query: Query, channel: str = "") -> Message:
        """The message `/csat trend` answers with."""
        found = await self.report(query, self.clock(), channel)
        return self.renderer.render("csat_trend.yml.j2", query=query, trend=found, few=FEW)

    async def _series(
        self, source: str, unit: str, ids: Ids | None, span: Period
    ) -> tuple[Series, Coverage | None, int | None]:
        """The series, what the history covers, and how many entities of `all` answered
        (None: the series holds them all)."""
        zone = self.zone
        if source in HOURLY:

            def read(db: Database) -> tuple[Series, Coverage, int | None]:
                history.ensure_zone(db, zone)  # a write, if any: before the read begins
                start, end, step = span.start, span.end, span.step
                with reading(db):  # the numbers and their coverage from one snapshot
                    answering = None
                    if unit != "account" and ids in (None, "all"):
                        # the busiest ranked in SQL: Python folds only the lines shown
                        top, answering = history.csat_top(db, start, end, zone, unit, ENTITIES)
                        series = history.csat_series(db, start, end, zone, unit, "all", step,
                                                     only=top)  # fmt: skip
                    else:
                        series = history.csat_series(db, start, end, zone, unit, ids, step)
                    hours = history.collected_hours(db, history.CSAT, start, end)
                    since = history.first_hour(db, history.CSAT)
                    last = history.last_hour(db, history.CSAT)
                # the newest hours not collected yet (HH:07:30) are not missing, as /csat
                # counts them: its window ends where the last collected hour ends
                stop = end
                if last is not None and end - LATE <= last + HOUR < end:
                    stop = last + HOUR
                of = int((stop - start).total_seconds() // 3600)
                return series, Coverage(len(hours), of, since), answering

            return await self.store(read)
        assert self.daily is not None
        daily, bounds = self.daily, day_bounds(span, zone)
        agents = None if unit != "agent" or ids in (None, "all") else tuple(ids or ())
        by_day = await self.store(lambda db: daily(db, bounds, agents))
        return await off_loop(fold, by_day, unit, span.step), None, None

    async def chart(self, redraw: Redraw, user: str) -> Chart:
        """The chart of a trend the button carries: each line's score with its interval
        band, the alerts' windows shaded; drawn in a worker thread."""
        query = Query("/csat", redraw.source, redraw.unit, redraw.ids, redraw.timeframe, trend=True)
        query, _ = self.resolve(query)  # the source may have gone since the answer
        found = await self.report(query, datetime.fromtimestamp(redraw.end, UTC))
        windows: list[AlertWindow] = []
        if self.alerts is not None:
            alerts, span = self.alerts, found.period
            windows = await self.store(
                lambda db: alerts(db, redraw.source, "csat", span.start, span.end)
            )
        words = self.renderer.render("csat_trend.yml.j2", query=query, trend=found, user=user)
        series, shaded = self._drawn(found, windows, str(words["together"]))
        charts = await off_loop(importlib.import_module, "bot.render.charts")
        png = await off_loop(
            charts.trend_chart, str(words["title"]), series, str(words["axis"]), shaded,
            str(words["window_label"]), found.period.step, self.zone,
        )  # fmt: skip
        return Chart(png, "csat-trend.png", str(words["file"]), str(words["text"]))

    def _drawn(
        self, found: TrendReport, windows: Sequence[AlertWindow], together: str
    ) -> tuple[dict[str, list[BandPoint]], list[tuple[datetime, datetime]]]:
        """The lines as the chart draws them (named as the directory names them), and the
        windows of the alerts on the entities drawn."""
        words, source = self.renderer.words, found.source

        def lookup(kind: str, id: str) -> str | None:
            return self.renderer.names(kind, id, source)

        drawn = [found.main, *found.entities[:ENTITIES]]
        series: dict[str, list[BandPoint]] = {}
        for each in drawn:
            if each.kind == "together":
                label = together
            else:
                label = words.entity("total" if each.kind == "account" else each.kind, each.id,
                                     None, lookup)  # fmt: skip
            series[label] = [
                (datetime.combine(p.when, time(12), self.zone), p.score, p.low, p.high)
                for p in each.points
            ]
        wanted = {("total" if d.kind == "account" else d.kind, d.id) for d in drawn}
        shaded = sorted({(start, end) for kind, id, start, end in windows if (kind, id) in wanted})
        return series, shaded
