from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.metrics import (
    Coverage,
    CsatCounts,
    CsatReport,
    CsatRow,
    Window,
    bucket_window,
    exact_window,
    floor_to_bucket,
)


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, second, tzinfo=UTC)


def test_score_is_none_without_answers() -> None:
    assert CsatCounts().score is None
    assert CsatCounts().share(5) == 0.0


def test_score_and_share() -> None:
    counts = CsatCounts((1, 0, 2, 5, 12), 20, 17)
    assert counts.score == pytest.approx(0.85)
    assert [counts.share(s) for s in range(1, 6)] == pytest.approx([0.05, 0.0, 0.1, 0.25, 0.6])


def test_score_trusts_positive_and_total_not_scores() -> None:
    # LivePerson's totals may not add up; the score is positive / total as sent
    assert CsatCounts((0, 0, 0, 0, 0), 4, 3).score == 0.75


def test_from_scores() -> None:
    assert CsatCounts.from_scores((2, 0, 1, 1, 3)) == CsatCounts((2, 0, 1, 1, 3), 7, 4)


def test_add() -> None:
    total = CsatCounts((1, 2, 3, 4, 5), 15, 9) + CsatCounts((10, 0, 0, 1, 1), 12, 2)
    assert total == CsatCounts((11, 2, 3, 5, 6), 27, 11)
    assert sum([CsatCounts.from_scores((0, 0, 0, 1, 1))] * 3, CsatCounts()) == CsatCounts(
        (0, 0, 0, 3, 3), 6, 6
    )


def test_bucket_window_documented_example() -> None:
    # "now 13:29, time frame 7 minutes ... the data is not 13:22-13:29 but 13:20-13:29"
    window = bucket_window(at(13, 29), 7)
    assert window == Window(asked_start=at(13, 22), start=at(13, 20), end=at(13, 29))
    assert window.widened


def test_bucket_window_aligned() -> None:
    window = bucket_window(at(13, 30), 60)
    assert window == Window(asked_start=at(12, 30), start=at(12, 30), end=at(13, 30))
    assert not window.widened


def test_exact_window_is_never_widened() -> None:
    window = exact_window(at(13, 29), 7)
    assert window == Window(asked_start=at(13, 22), start=at(13, 22), end=at(13, 29))
    assert not window.widened


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(13, 29, 59), at(13, 25)),
        (at(13, 25), at(13, 25)),
        (at(13, 24, 59), at(13, 20)),
        (at(0, 0, 1), at(0, 0)),
        (datetime(2026, 3, 2, 13, 7, 30, 500, tzinfo=UTC), at(13, 5)),
    ],
)
def test_floor_to_bucket(moment: datetime, expected: datetime) -> None:
    assert floor_to_bucket(moment) == expected


def test_floor_to_other_bucket_size() -> None:
    assert floor_to_bucket(at(13, 29), 15) == at(13, 15)


def row(name: str, total: int) -> CsatRow:
    return CsatRow("skill", name, name, CsatCounts((0, 0, 0, 0, total), total, total))


def test_ranked_most_answers_first_then_name() -> None:
    rows = (row("b", 5), row("c", 9), row("a", 5), row("d", 0))
    report = CsatReport(
        "liveperson", "LivePerson", "skill", bucket_window(at(13, 29), 7), CsatCounts(), rows
    )
    assert [r.name for r in report.ranked()] == ["c", "a", "b", "d"]
    assert report.rows == rows  # ranking does not reorder the report itself


def test_ranked_compares_numbers_in_names_as_numbers() -> None:
    same = CsatCounts.from_scores((0, 0, 0, 1, 1))
    rows = tuple(CsatRow("skill", i, f"Skill {i}", same) for i in ("129", "13", "9"))
    now = datetime(2026, 3, 2, 13, 30, tzinfo=UTC)
    report = CsatReport("liveperson", "LivePerson", "skill", bucket_window(now, 60), same, rows)
    assert [r.name for r in report.ranked()] == ["Skill 9", "Skill 13", "Skill 129"]


@pytest.mark.parametrize(
    "ids",
    [
        ("10", "9", "009", "0", "", "a", "9a", "a9", "Skill 9"),
        ("\u0661\u0662", "12", "\u00b2", "2", "1\u00b2", "x\u0663"),  # other digits: as text
    ],
)
def test_ranked_orders_ids_of_digits_as_names_of_digits(ids: tuple[str, ...]) -> None:
    """Ids of plain digits skip the split (most ids): the order is the one it would give."""

    def natural(text: str) -> tuple[object, ...]:
        parts = re.split(r"(\d+)", text)
        return tuple(
            (len(p.lstrip("0")), p.lstrip("0")) if i % 2 else p for i, p in enumerate(parts)
        )

    same = CsatCounts.from_scores((0, 0, 0, 1, 1))
    rows = tuple(CsatRow("skill", i, None, same) for i in ids)
    now = datetime(2026, 3, 2, 13, 30, tzinfo=UTC)
    report = CsatReport("liveperson", "LivePerson", "skill", bucket_window(now, 60), same, rows)
    assert [r.id for r in report.ranked()] == sorted(ids, key=natural)


def test_seconds_alone_do_not_widen_the_window() -> None:
    """At 13:30:30 an hour starts at 12:30:30; the bucket starts at 12:30: same minute."""
    window = bucket_window(datetime(2026, 3, 2, 13, 30, 30, tzinfo=UTC), 60)
    assert window.start == datetime(2026, 3, 2, 12, 30, tzinfo=UTC)
    assert window.widened is False


# --- what the history covers ------------------------------------------------------------

HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("since", "missing"),
    [
        (-30 * 24, ((0, 48),)),  # collecting long before: the window's first 2 days are a gap
        (0, ((0, 48),)),  # since the window's first hour
        (48, ()),  # since the first hour it has: before it, not collected yet
        (10, ((10, 48),)),  # since inside the window: missing from then on
    ],
)
def test_missing_runs_start_at_the_window_or_since_whichever_is_later(
    since: int, missing: tuple[tuple[int, int], ...]
) -> None:
    end = datetime(2026, 3, 9, 8, tzinfo=UTC)
    start = end - 168 * HOUR
    hours = [start + i * HOUR for i in range(48, 168)]
    found = Coverage.of(7 * 1440, start, end, hours, start + since * HOUR)
    assert found.missing == tuple((start + a * HOUR, start + b * HOUR) for a, b in missing)
    assert (found.covered, found.first, found.since) == (120 * 60, hours[0], start + since * HOUR)


def test_a_window_with_nothing_collected_is_missing_from_since() -> None:
    end = datetime(2026, 3, 9, 8, tzinfo=UTC)
    start = end - 10 * HOUR
    assert Coverage.of(600, start, end, [], start - 5 * HOUR).missing == ((start, end),)
    assert Coverage.of(600, start, end, [], start + 5 * HOUR).missing == ((start + 5 * HOUR, end),)
    assert Coverage.of(600, start, end, [], None).missing == ()
