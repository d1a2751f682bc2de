"""The ownership state machine: every click on every state, by table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.alerts.ownership import Click, apply, snooze_until, state
from bot.errors import ActionError

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LATER = (NOW + timedelta(hours=2)).isoformat()
EARLIER = (NOW - timedelta(hours=2)).isoformat()

FIRING: dict[str, Any] = {"id": 7, "status": "firing", "opened_at": EARLIER}
OWNED = {**FIRING, "acked_by": "U1", "acked_at": EARLIER}
SNOOZED = {**OWNED, "snoozed_until": LATER, "snoozed_by": "U1"}
SNOOZE_OVER = {**OWNED, "snoozed_until": EARLIER, "snoozed_by": "U1"}
RESOLVED = {**OWNED, "status": "resolved", "resolved_at": EARLIER, "resolved_by": "U2"}


@pytest.mark.parametrize(
    ("row", "shown"),
    [(FIRING, "firing"), (OWNED, "acknowledged"), (SNOOZED, "snoozed"),
     (SNOOZE_OVER, "acknowledged"), (RESOLVED, "resolved")],
)  # fmt: skip
def test_the_state_the_top_message_shows(row: dict[str, Any], shown: str) -> None:
    assert state(row, NOW) == shown


CASES: list[tuple[str, dict[str, Any], Click, str, dict[str, Any], dict[str, Any] | str]] = [
    # name, row, click, user, keyword arguments, the change or the refusal's code
    ("ack", FIRING, Click.ACKNOWLEDGE, "U1", {},
     {"acked_by": "U1", "acked_at": NOW.isoformat()}),
    ("take over", OWNED, Click.ACKNOWLEDGE, "U2", {},
     {"acked_by": "U2", "acked_at": NOW.isoformat()}),
    ("ack twice", OWNED, Click.ACKNOWLEDGE, "U1", {}, "already_yours"),
    ("ack while snoozed", {**SNOOZED, "acked_by": None}, Click.ACKNOWLEDGE, "U3", {},
     {"acked_by": "U3", "acked_at": NOW.isoformat()}),
    ("resolve with a note", OWNED, Click.RESOLVE, "U2", {"note": "  macro fixed \n"},
     {"status": "resolved", "resolved_at": NOW.isoformat(), "resolved_by": "U2",
      "resolved_note": "macro fixed"}),
    ("resolve without one", FIRING, Click.RESOLVE, "U2", {},
     {"status": "resolved", "resolved_at": NOW.isoformat(), "resolved_by": "U2",
      "resolved_note": ""}),
    ("a lone surrogate is kept readable", FIRING, Click.RESOLVE, "U2", {"note": "a\ud83d\x00b"},
     {"status": "resolved", "resolved_at": NOW.isoformat(), "resolved_by": "U2",
      "resolved_note": "a\ufffdb"}),
    ("a long note is cut", FIRING, Click.RESOLVE, "U2", {"note": "x" * 5000},
     {"status": "resolved", "resolved_at": NOW.isoformat(), "resolved_by": "U2",
      "resolved_note": "x" * 2000}),
    ("snooze a day", OWNED, Click.SNOOZE, "U1", {"until": NOW + timedelta(days=1)},
     {"snoozed_until": (NOW + timedelta(days=1)).isoformat(), "snoozed_by": "U1"}),
    ("snooze again, longer", SNOOZED, Click.SNOOZE, "U2", {"until": NOW + timedelta(weeks=1)},
     {"snoozed_until": (NOW + timedelta(weeks=1)).isoformat(), "snoozed_by": "U2"}),
    ("snooze into the past", OWNED, Click.SNOOZE, "U1", {"until": NOW - timedelta(minutes=1)},
     "snooze_past"),
    ("snooze until now", OWNED, Click.SNOOZE, "U1", {"until": NOW}, "snooze_past"),
    ("snooze without a time", OWNED, Click.SNOOZE, "U1", {}, "snooze_past"),
    ("snooze for a year", OWNED, Click.SNOOZE, "U1", {"until": NOW + timedelta(days=365)},
     "snooze_far"),
    ("unsnooze", SNOOZED, Click.UNSNOOZE, "U2", {},
     {"snoozed_until": None, "snoozed_by": None}),
    ("unsnooze what is not snoozed", OWNED, Click.UNSNOOZE, "U2", {}, "not_snoozed"),
    ("unsnooze a snooze that ended", SNOOZE_OVER, Click.UNSNOOZE, "U2", {}, "not_snoozed"),
    *((f"{c} on a resolved alert", RESOLVED, c, "U1", {"until": NOW + timedelta(hours=1)},
       "stale_resolved") for c in Click),
    *((f"{c} on a replaced alert", OWNED, c, "U3",
       {"latest_id": 8, "until": NOW + timedelta(hours=1)}, "stale_newer") for c in Click),
]  # fmt: skip


@pytest.mark.parametrize(
    ("row", "click", "user", "extra", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_every_click_on_every_state(
    row: dict[str, Any],
    click: Click,
    user: str,
    extra: dict[str, Any],
    expected: dict[str, Any] | str,
) -> None:
    if isinstance(expected, str):
        with pytest.raises(ActionError) as refused:
            apply(row, click, user, NOW, **extra)
        assert refused.value.code == expected
        return
    made = apply(row, click, user, NOW, **extra)
    assert made.alert == expected
    assert made.event["alert_id"] == 7 and made.event["user"] == user
    assert (made.event["action"], made.event["at"]) == (str(click), NOW.isoformat())


def test_events_keep_the_note_the_snooze_and_whose_it_was() -> None:
    assert apply(OWNED, Click.ACKNOWLEDGE, "U2", NOW).event["note"] == "from U1"
    assert "note" not in apply(FIRING, Click.ACKNOWLEDGE, "U2", NOW).event
    assert apply(FIRING, Click.RESOLVE, "U2", NOW, note="done").event["note"] == "done"
    until = NOW + timedelta(hours=1)
    assert apply(FIRING, Click.SNOOZE, "U2", NOW, until=until).event["until"] == until.isoformat()


def test_the_latest_alert_of_its_problem_is_not_stale() -> None:
    assert apply(FIRING, Click.ACKNOWLEDGE, "U1", NOW, latest_id=7).alert["acked_by"] == "U1"


@pytest.mark.parametrize(
    ("period", "after"), [("1h", timedelta(hours=1)), ("1d", timedelta(days=1)),
                          ("1w", timedelta(weeks=1))],
)  # fmt: skip
def test_menu_snoozes(period: str, after: timedelta) -> None:
    assert snooze_until(period, NOW) == NOW + after


@pytest.mark.parametrize("period", ["", "2y", "until", "1H", "<!here>"])
def test_a_menu_snooze_that_is_not_offered_is_refused(period: str) -> None:
    with pytest.raises(ActionError) as refused:
        snooze_until(period, NOW)
    assert refused.value.code == "bad_snooze"
