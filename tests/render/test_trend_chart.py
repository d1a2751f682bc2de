"""`trend_chart`: a line per series with its interval band, the total emphasised, gaps where
nobody answered, the alerts' windows shaded and named once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.render.charts import ENTITY_LINES, trend_chart, trend_chart_figure

START = datetime(2026, 3, 1, 12, tzinfo=UTC)


def points(n: int, base: float) -> list[tuple[datetime, float | None, float | None, float | None]]:
    return [
        (START + timedelta(days=i), None if i == 3 else base, None if i == 3 else base - 0.05,
         None if i == 3 else min(1.0, base + 0.04))
        for i in range(n)
    ]  # fmt: skip


def test_each_series_has_its_line_and_band_and_the_alerts_are_shaded() -> None:
    series = {f"S{i}": points(10, 0.7 + i / 50) for i in range(7)}
    window = (START + timedelta(days=2), START + timedelta(days=4))
    fig = trend_chart_figure(
        "CSAT · all skills", series, "CSAT %", [window, window], "alert window"
    )
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == [f"S{i}" for i in range(1 + ENTITY_LINES)] + ["alert window"]  # once
    assert len(ax.collections) >= 1 + ENTITY_LINES  # the bands
    assert ax.get_lines()[0].get_linewidth() > ax.get_lines()[1].get_linewidth()
    assert ax.get_ylim()[1] == 100.5


def test_a_png_for_one_day_weeks_and_nothing() -> None:
    assert trend_chart("t", {"Total": points(1, 0.8)}, "CSAT %").startswith(b"\x89PNG")
    assert trend_chart("t", {"Total": points(8, 0.8)}, "CSAT %", step="week").startswith(b"\x89PNG")
    assert trend_chart("t", {"Total": []}, "CSAT %").startswith(b"\x89PNG")
    assert trend_chart("$x$ _y", {"_T": points(3, 0.5)}, "a", [(START, START)], "w").startswith(
        b"\x89PNG"
    )
