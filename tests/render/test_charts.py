"""The charts: PNGs that draw what they are given, dates as people read them."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bot.render import charts

MONDAY = datetime(2025, 11, 24, 8, tzinfo=UTC)  # Mon 24 Nov 2025, 09:00 in Berlin
PNG = b"\x89PNG"


def days(n: int, score: float = 0.8) -> list[tuple[datetime, float | None, int]]:
    return [(MONDAY + timedelta(days=i), score, 100 + i) for i in range(n)]


def axes(fig: Figure) -> Axes:
    (ax,) = fig.axes
    fig.canvas.draw()  # ticks and their labels are placed when drawn
    return ax


def legend(ax: Axes) -> list[str]:
    found = ax.get_legend()
    return [] if found is None else [t.get_text() for t in found.get_texts()]


def ticks(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.get_xticklabels() if t.get_text()]


def test_the_date_formatter_writes_the_day_as_people_read_it() -> None:
    fig = charts.trend_figure("t", {"Total": days(5)}, "CSAT %")
    ax = axes(fig)
    formatter = ax.xaxis.get_major_formatter()
    assert formatter(charts._x([datetime(2025, 11, 24, tzinfo=UTC)])[0]) == "Mon 24 Nov"
    assert all(len(label.split()) == 3 for label in ticks(ax))  # no time of day over 5 days


def test_the_time_of_day_only_when_everything_falls_within_one_day() -> None:
    assert charts.date_format([MONDAY, MONDAY + timedelta(days=3)]) == "%a %d %b"
    assert charts.date_format([MONDAY, MONDAY + timedelta(hours=6)]) == "%a %d %b %H:%M"
    assert charts.date_format([MONDAY]) == "%a %d %b %H:%M"


def test_the_trend_draws_the_account_and_at_most_four_entities_with_a_legend() -> None:
    series = {"Total": days(5), "Billing": days(5, 0.7), "Orders": days(3, 0.9),
              "Returns": days(1, 0.5), "Sales": days(5, None), "Sixth": days(5)}  # fmt: skip
    ax = axes(charts.trend_figure("CSAT · daily", series, "CSAT %"))
    assert legend(ax) == ["Total", "Billing", "Orders", "Returns", "Sales"]
    total, billing = ax.get_lines()[:2]
    assert total.get_linewidth() > billing.get_linewidth()  # the account stands out
    assert list(total.get_ydata()) == pytest.approx([80.0] * 5)
    assert all(math.isnan(y) for y in ax.get_lines()[4].get_ydata())  # no answers: a gap
    assert charts.csat_trend("CSAT · daily", series, "CSAT %").startswith(PNG)


def test_a_trend_of_one_point_per_series_is_one_labelled_day() -> None:
    one = {"Total": days(1), "Billing": days(1, 0.6)}
    ax = axes(charts.trend_figure("CSAT", one, "CSAT %", ZoneInfo("Europe/Berlin")))
    assert ticks(ax) == ["Mon 24 Nov 09:00"]  # in the digest's time zone
    assert charts.csat_trend("CSAT", one, "CSAT %").startswith(PNG)


def test_labels_are_shown_as_written() -> None:
    """A `$` would start mathtext, a leading `_` would leave the line out of the legend."""
    series = {"Total": days(2), "$5 plan$": days(2), "_internal": days(2)}
    ax = axes(charts.trend_figure("$ and $", series, "CSAT %"))
    assert legend(ax) == ["Total", r"\$5 plan\$", "\u200b_internal"]  # drawn as "$5 plan$"


def window_points(n: int) -> list[tuple[datetime, float | None, float | None, float | None]]:
    return [(MONDAY + timedelta(minutes=15 * i), 0.2 + i / 100, 0.1 + i / 100, 0.3 + i / 100)
            for i in range(n)]  # fmt: skip


def test_the_metric_chart_draws_lines_bands_the_level_before_and_the_window() -> None:
    billing = window_points(12)
    billing[3] = (billing[3][0], None, None, None)  # a gap
    orders = [(t, v, None, None) for t, v, _, _ in window_points(12)]  # no band
    window = (billing[8][0], billing[-1][0])
    fig = charts.metric_figure("Away share · Billing", {"Billing": billing, "Orders": orders},
                               "share", "Away %", 0.12, "before the alert", window,
                               "alert window")  # fmt: skip
    ax = axes(fig)
    assert legend(ax) == ["Billing", "Orders", "before the alert", "alert window"]
    line, _, before = ax.get_lines()
    assert line.get_ydata()[0] == pytest.approx(20.0)  # a share as a percentage
    assert math.isnan(line.get_ydata()[3])
    assert list(before.get_ydata()) == pytest.approx([12.0, 12.0])
    assert before.get_linestyle() == "--"
    assert len(ax.collections) == 1  # one band: Orders has none
    assert ax.yaxis.get_major_formatter()(50, 0) == "50%"
    assert all(label.startswith("Mon 24 Nov ") for label in ticks(ax))  # within one day
    png = charts.metric_chart("Away share · Billing", {"Billing": billing}, "share", "Away %",
                              0.12, "before the alert", window, "alert window")  # fmt: skip
    assert png.startswith(PNG)


def test_logged_in_time_is_drawn_in_hours() -> None:
    team = [(MONDAY + timedelta(days=i), 7200.0 * (i + 1), None, None) for i in range(3)]
    ax = axes(charts.metric_figure("Logged in · Team", {"Team": team}, "seconds", "hours"))
    assert list(ax.get_lines()[0].get_ydata()) == pytest.approx([2.0, 4.0, 6.0])
    assert ax.get_ylim()[0] >= 0
    assert ax.get_ylabel() == "hours"


@pytest.mark.parametrize(
    "series",
    [
        {"Team": [(MONDAY, 7200.0, 6000.0, 8000.0)]},  # one point, its band a bar
        {"Team": [(MONDAY, None, None, None)]},  # nothing to draw
        {"Team": []},
        {},
    ],
)
def test_the_metric_chart_draws_a_single_point_or_nothing(
    series: dict[str, list[tuple[datetime, float | None, float | None, float | None]]],
) -> None:
    assert charts.metric_chart("Logged in", series, "seconds", "hours").startswith(PNG)
    window = (MONDAY - timedelta(hours=1), MONDAY)
    assert charts.metric_chart("Logged in", series, "seconds", "hours", 3600.0, "before",
                               window, "window").startswith(PNG)  # fmt: skip
