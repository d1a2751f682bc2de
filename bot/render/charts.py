"""PNG charts where a picture reads better than a table: the CSAT trend of the account and
its top entities, the distribution of answers, and one metric around an alert.

Titles, labels and series names arrive as words (`words.yml`, through their callers);
numbers arrive as the store keeps them (scores 0..1, seconds). Every function is pure:
data in, PNG bytes out. A `*_figure` function returns the Figure its chart draws, so
tests can read its legend and its axes.

matplotlib with the Agg backend: no display, safe in threads when each chart uses its
own Figure (never pyplot's global state).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Literal

from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, DateFormatter, DayLocator, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

GOOD, BAD, NEUTRAL = "#2eb67d", "#e01e5a", "#9e9ea6"
ACCOUNT = "#1d1c1d"  # the emphasised line
LINES = ("#36c5f0", "#ecb22e", "#e01e5a", "#2eb67d", "#7c3085")  # one per entity, in order
ENTITY_LINES = 4  # a trend draws the account and at most this many entities
DAY = "%a %d %b"  # Mon 24 Nov
TIME = "%H:%M"  # added when everything falls within one day

TrendPoint = tuple[datetime, float | None, int]  # when, score 0..1 (None: no answers), answers
MetricPoint = tuple[datetime, float | None, float | None, float | None]  # when, value, low, high


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=110, bbox_inches="tight")
    return out.getvalue()


def _plain(text: str) -> str:
    """Words as matplotlib shows them as they are: `$` would start mathtext, and a legend
    leaves out a label that starts with `_`."""
    text = text.replace("$", r"\$")
    return "\u200b" + text if text.startswith("_") else text


def date_format(times: Sequence[datetime]) -> str:
    """How the x axis writes a moment: the day as people read it ("Mon 24 Nov"), with
    the time of day only when every moment falls within one day."""
    if times and max(times) - min(times) <= timedelta(days=1):
        return f"{DAY} {TIME}"
    return DAY


def _x(times: Sequence[datetime]) -> list[float]:
    """Moments as matplotlib's x values (days since its epoch); the axis writes them back
    as dates (`_date_axis`)."""
    return [float(x) for x in date2num(list(times))]  # type: ignore[no-untyped-call]


def _date_axis(ax: Axes, times: Sequence[datetime], tz: tzinfo | None) -> None:
    """Dates on the x axis: one tick for a single moment, whole days (about 7 labels at
    most) when the moments span more than a day, hours within a day."""
    if not times:
        return
    fmt = date_format(times)
    if len(set(times)) == 1:
        (x,) = _x(times[:1])
        ax.set_xticks([x])
        ax.set_xlim(x - 0.5, x + 0.5)  # half a day either side
    elif fmt == DAY:
        days = (max(times) - min(times)).days
        every = max(1, math.ceil(days / 7))
        ax.xaxis.set_major_locator(DayLocator(interval=every, tz=tz))  # type: ignore[no-untyped-call]
    else:
        ax.xaxis.set_major_locator(AutoDateLocator(tz=tz, minticks=3, maxticks=7))  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(DateFormatter(fmt, tz=tz))  # type: ignore[no-untyped-call]
    ax.figure.autofmt_xdate()


def _values(values: Sequence[float | None], scale: float) -> list[float]:
    """Scaled values, a missing one as NaN: a gap in a line or a band."""
    return [math.nan if v is None else v * scale for v in values]


def _legend(ax: Axes) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)


def trend_figure(
    title: str,
    series: Mapping[str, Sequence[TrendPoint]],
    axis: str,
    tz: tzinfo | None = None,
) -> Figure:
    """The Figure `csat_trend` draws."""
    fig = Figure(figsize=(8, 3.2))
    ax = fig.add_subplot()
    drawn = list(series.items())[: 1 + ENTITY_LINES]
    times: list[datetime] = []
    shown: list[float] = []
    for i, (label, points) in enumerate(drawn):
        if not points:
            continue
        times += [t for t, _, _ in points]
        when = _x([t for t, _, _ in points])
        scores = _values([s for _, s, _ in points], 100)
        shown += [s for s in scores if not math.isnan(s)]
        if i == 0:  # the account: emphasised, its answers under each point
            ax.plot(when, scores, marker="o", color=ACCOUNT, linewidth=2.4, zorder=3,
                    label=_plain(label))  # fmt: skip
            for x, y, (_, _, n) in zip(when, scores, points, strict=True):
                if not math.isnan(y):
                    ax.annotate(f"{n}", (x, y), textcoords="offset points", xytext=(0, -14),
                                ha="center", fontsize=7, color=NEUTRAL)  # fmt: skip
        else:
            ax.plot(when, scores, marker="o", markersize=3.5, color=LINES[(i - 1) % len(LINES)],
                    linewidth=1.3, alpha=0.9, zorder=2, label=_plain(label))  # fmt: skip
    if shown:
        ax.set_ylim(max(0, min(shown) - 10), 100.5)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
    ax.set_title(_plain(title), fontsize=10, loc="left")
    ax.set_ylabel(_plain(axis))
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    _date_axis(ax, times, tz)
    _legend(ax)
    return fig


def csat_trend(
    title: str,
    series: Mapping[str, Sequence[tuple[datetime, float | None, int]]],
    axis: str,
    tz: tzinfo | None = None,
) -> bytes:
    """Score over time, one line per series, as a PNG.

    `series`: label → points of (moment, score 0..1 or None for no answers, answers),
    oldest first. The first series is the account's: drawn emphasised, with the number of
    answers under each point; the next `ENTITY_LINES` (4) are entities, drawn thinner,
    any more are left out. A score of None is a gap. Dates are written in `tz` (UTC when
    None) as `date_format` says. A series of one point is one marker.
    """
    return _png(trend_figure(title, series, axis, tz))


def metric_figure(
    title: str,
    series: Mapping[str, Sequence[MetricPoint]],
    unit: Literal["share", "seconds"],
    axis: str,
    before: float | None = None,
    before_label: str = "",
    window: tuple[datetime, datetime] | None = None,
    window_label: str = "",
    tz: tzinfo | None = None,
) -> Figure:
    """The Figure `metric_chart` draws."""
    scale = 100.0 if unit == "share" else 1 / 3600
    fig = Figure(figsize=(8, 3.2))
    ax = fig.add_subplot()
    times: list[datetime] = []
    for i, (label, points) in enumerate(series.items()):
        if not points:
            continue
        colour = LINES[i % len(LINES)]
        times += [t for t, _, _, _ in points]
        when = _x([t for t, _, _, _ in points])
        ax.plot(when, _values([v for _, v, _, _ in points], scale), marker="o", markersize=3.5,
                color=colour, linewidth=1.6, zorder=3, label=_plain(label))  # fmt: skip
        low = _values([lo for _, _, lo, _ in points], scale)
        high = _values([hi for _, _, _, hi in points], scale)
        if len(points) == 1 and not (math.isnan(low[0]) or math.isnan(high[0])):
            ax.vlines(when, low, high, color=colour, alpha=0.25, linewidth=6)  # a band of one
        elif any(not (math.isnan(lo) or math.isnan(hi)) for lo, hi in zip(low, high, strict=True)):
            ax.fill_between(when, low, high, color=colour, alpha=0.18, linewidth=0)
    if before is not None:
        ax.axhline(before * scale, color=NEUTRAL, linestyle="--", linewidth=1.2, zorder=2,
                   label=_plain(before_label) if before_label else None)  # fmt: skip
    if window is not None:
        start, end = window
        times += [start, end]
        ax.axvspan(*_x([start, end]), color=BAD, alpha=0.08, linewidth=0, zorder=1,
                   label=_plain(window_label) if window_label else None)  # fmt: skip
    low_limit, high_limit = ax.get_ylim()
    if unit == "share":
        ax.set_ylim(max(low_limit, 0), min(high_limit, 100.5))
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
    else:
        ax.set_ylim(bottom=max(low_limit, 0))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    _over_time(ax, title, axis, times, tz)
    return fig


def metric_chart(
    title: str,
    series: Mapping[str, Sequence[tuple[datetime, float | None, float | None, float | None]]],
    unit: Literal["share", "seconds"],
    axis: str,
    before: float | None = None,
    before_label: str = "",
    window: tuple[datetime, datetime] | None = None,
    window_label: str = "",
    tz: tzinfo | None = None,
) -> bytes:
    """One metric over time for one or more entities, as a PNG: an alert's picture.

    `series`: label → points of (moment, value, low, high), oldest first; each is a line,
    and its interval (low..high) a translucent band around it. A value of None is a gap
    in the line; a low or high of None a gap in the band (None everywhere: no band).
    `unit` says what the values are and how the y axis shows them: "share" for a CSAT
    score or an Away share (0..1, shown as 0–100 %), "seconds" for logged-in time (shown
    as hours). `before` (same unit) is drawn as a dashed line, "the level before the
    alert", named `before_label` in the legend; `window` (start, end) is shaded, named
    `window_label`. An empty label keeps it out of the legend. `title` and `axis` are
    words. Dates are written in `tz` (UTC when None) as `date_format` says, over the
    points and the window. A single point is a marker (its band a bar).
    """
    return _png(
        metric_figure(title, series, unit, axis, before, before_label, window, window_label, tz)
    )


def distribution(title: str, labels: Sequence[str], counts: Sequence[int], axis: str) -> bytes:
    """Answers per score (1..5), or good and bad, as bars."""
    fig = Figure(figsize=(5, 2.6))
    ax = fig.add_subplot()
    colours = [BAD, BAD, NEUTRAL, GOOD, GOOD] if len(labels) == 5 else [GOOD, BAD]
    positions = list(range(len(labels)))  # categories by position: no unit guessing
    ax.bar(positions, counts, color=colours[: len(labels)])
    ax.set_xticks(positions, [_plain(label) for label in labels])
    for x, n in zip(positions, counts, strict=True):
        ax.annotate(f"{n}", (x, n), textcoords="offset points", xytext=(0, 2), ha="center",
                    fontsize=8)  # fmt: skip
    ax.set_title(_plain(title), fontsize=10, loc="left")
    ax.set_ylabel(_plain(axis))
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


BandPoint = tuple[datetime, float | None, float | None, float | None]  # when, score, low, high


def trend_chart_figure(
    title: str,
    series: Mapping[str, Sequence[BandPoint]],
    axis: str,
    windows: Sequence[tuple[datetime, datetime]] = (),
    window_label: str = "",
    step: Literal["day", "week"] = "day",
    tz: tzinfo | None = None,
) -> Figure:
    """The Figure `trend_chart` draws."""
    fig = Figure(figsize=(8, 3.4))
    ax = fig.add_subplot()
    times: list[datetime] = []
    for i, (label, points) in enumerate(list(series.items())[: 1 + ENTITY_LINES]):
        if not points:
            continue
        colour = ACCOUNT if i == 0 else LINES[(i - 1) % len(LINES)]
        times += [t for t, _, _, _ in points]
        when = _x([t for t, _, _, _ in points])
        scores = _values([s for _, s, _, _ in points], 100)
        ax.plot(when, scores, marker="o", markersize=3.5 if i else 4.5, color=colour,
                linewidth=2.2 if i == 0 else 1.3, zorder=3 if i == 0 else 2,
                label=_plain(label))  # fmt: skip
        low = _values([lo for _, _, lo, _ in points], 100)
        high = _values([hi for _, _, _, hi in points], 100)
        if len(points) == 1 and not (math.isnan(low[0]) or math.isnan(high[0])):
            ax.vlines(when, low, high, color=colour, alpha=0.25, linewidth=6)
        else:
            ax.fill_between(when, low, high, color=colour, alpha=0.15 if i == 0 else 0.1,
                            linewidth=0)  # fmt: skip
    half = timedelta(days=3.5 if step == "week" else 0.5)
    for n, (start, end) in enumerate(windows):
        ax.axvspan(*_x([start, end]), color=BAD, alpha=0.1, linewidth=0, zorder=1,
                   label=_plain(window_label) if window_label and n == 0 else None)  # fmt: skip
    if times:
        left, right = _x([min(times) - half, max(times) + half])
        ax.set_xlim(left, right)  # alert windows beyond the days are cut at their edges
    shown = [v for p in series.values() for _, v, _, _ in p if v is not None]
    ax.set_ylim(max(0, min(shown, default=0.0) * 100 - 15), 100.5)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
    _over_time(ax, title, axis, times, tz)
    return fig


def _over_time(
    ax: Axes, title: str, axis: str, times: Sequence[datetime], tz: tzinfo | None
) -> None:
    """What a chart over time shares: its title and axis, a light grid, dates as people
    read them, and a legend when a line is named."""
    ax.set_title(_plain(title), fontsize=10, loc="left")
    ax.set_ylabel(_plain(axis))
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    _date_axis(ax, times, tz)
    if ax.get_legend_handles_labels()[1]:
        _legend(ax)


def trend_chart(
    title: str,
    series: Mapping[str, Sequence[tuple[datetime, float | None, float | None, float | None]]],
    axis: str,
    windows: Sequence[tuple[datetime, datetime]] = (),
    window_label: str = "",
    step: Literal["day", "week"] = "day",
    tz: tzinfo | None = None,
) -> bytes:
    """`/csat trend`'s chart, as a PNG: the score per day (or week) of each series with its
    95 % interval as a translucent band, so a dip inside the band reads as noise.

    `series`: label → points of (moment, score 0..1, low, high), oldest first; a score of
    None (nobody answered) is a gap in the line and its band. The first series is the
    total, drawn emphasised; the next `ENTITY_LINES` (4) are entities, any more are left
    out. `windows` (start, end) are the alerts' windows, shaded and named `window_label`
    once in the legend, cut at the chart's edges. Dates are written in `tz`.
    """
    return _png(trend_chart_figure(title, series, axis, windows, window_label, step, tz))
