"""Detractors as a loop: who calls in the leads when, the buttons' clicks, the redraw.

The pacing decision is a table with the clock passed in (daylight saving and quiet hours
that wrap midnight included); the clicks go through `DetractorAlerts` on a real store with
a poster that records what Slack would have been asked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.config import DetractorRules, QuietHours
from bot.errors import ActionError
from bot.render import Message
from bot.surveys import queries
from bot.surveys.detractors import LISTED, should_mention
from bot.timefmt import iso_ms
from tests.fakes.hostile import HOSTILE
from tests.surveys.loop import BERLIN, Loop, unpinged

pytestmark = pytest.mark.anyio
NIGHT = QuietHours(time(20), time(8))  # wraps midnight
LUNCH = QuietHours(time(12), time(13))
HOUR = timedelta(hours=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("last", "now", "every", "quiet", "expected"),
    [
        (None, "2026-03-02 10:00", HOUR, None, True),  # never called in
        ("2026-03-02 09:30", "2026-03-02 10:00", HOUR, None, False),  # 30 minutes ago
        ("2026-03-02 09:00", "2026-03-02 10:00", HOUR, None, True),  # exactly an hour
        ("2026-03-02 09:59", "2026-03-02 10:00", timedelta(0), None, True),  # 0m: every burst
        ("2026-03-02 10:20", "2026-03-02 10:00", HOUR, None, False),  # another clock, close
        ("2026-03-05 10:00", "2026-03-02 10:00", HOUR, None, True),  # a clock days ahead
        # quiet hours, 20:00-08:00 Berlin (UTC+1 in winter): the wrap and both edges
        (None, "2026-03-02 18:59", HOUR, NIGHT, True),  # 19:59 Berlin
        (None, "2026-03-02 19:00", HOUR, NIGHT, False),  # 20:00 Berlin: quiet from here
        (None, "2026-03-02 23:30", HOUR, NIGHT, False),  # 00:30 Berlin, after midnight
        (None, "2026-03-03 06:59", HOUR, NIGHT, False),  # 07:59 Berlin
        (None, "2026-03-03 07:00", HOUR, NIGHT, True),  # 08:00 Berlin: over
        (None, "2026-03-02 11:30", HOUR, LUNCH, False),  # 12:30 Berlin, no wrap
        (None, "2026-03-02 12:00", HOUR, LUNCH, True),  # 13:00 Berlin
        # daylight saving: Berlin goes to UTC+2 at 01:00 UTC on 29 March 2026
        (None, "2026-03-29 06:30", HOUR, NIGHT, True),  # 08:30 CEST: over (UTC+1: 07:30)
        (None, "2026-03-29 05:30", HOUR, NIGHT, False),  # 07:30 CEST: still quiet
        # the wall clock jumps an hour, the pacing counts real time: 50 minutes apart
        ("2026-03-29 00:30", "2026-03-29 01:20", HOUR, None, False),
        # back to UTC+1 at 01:00 UTC on 25 October: 07:30 UTC is 08:30 CET, over
        (None, "2026-10-25 07:30", HOUR, NIGHT, True),
        (None, "2026-10-25 06:30", HOUR, NIGHT, False),  # 07:30 CET
        ("2026-10-25 00:50", "2026-10-25 01:10", HOUR, None, False),  # 02:50 CEST, 02:10 CET
        # recently called in and quiet: quiet wins; quiet with no call for days: still quiet
        ("2026-03-02 22:30", "2026-03-02 23:00", HOUR, NIGHT, False),
        ("2026-02-01 10:00", "2026-03-02 23:00", HOUR, NIGHT, False),
    ],
)
def test_the_leads_are_called_in_at_most_once_per_quiet_period(
    last: str | None, now: str, every: timedelta, quiet: QuietHours | None, expected: bool
) -> None:
    called = utc(last) if last else None
    assert should_mention(called, utc(now), every, quiet, BERLIN) is expected


# --- the service on a real store ------------------------------------------------------------


@pytest.fixture
def loop() -> Iterator[Loop]:
    made = Loop()
    yield made
    made.store.close()


def texts(message: Message) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def lines(message: Message) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]


def buttons(message: Message) -> list[tuple[str, str, str]]:
    rows = [b["elements"] for b in message["blocks"] if b["type"] == "actions"]
    return [(e["action_id"], e["text"]["text"], e["value"]) for row in rows for e in row]


async def test_each_detractor_gets_its_buttons_and_its_message_is_recorded(loop: Loop) -> None:
    a, b = await loop.burst("A", "B")
    (message,) = loop.poster.top()
    assert buttons(message) == [
        ("detractor_take", "I'll take it", a.id), ("detractor_handled", "Handled", a.id),
        ("detractor_take", "I'll take it", b.id), ("detractor_handled", "Handled", b.id),
    ]  # fmt: skip
    assert "<!subteam^S0LEADS> these customers" in texts(message)
    assert "<https://help.example/t/A|`A`>" in lines(message)[1]  # the ticket, linked
    row = loop.row(a)
    assert (row["message_channel"], row["message_ts"]) == ("C0LEADS", "100.000001")
    (posted,) = loop.store.sync(lambda db: list(db.query("select * from detractor_messages")))
    assert posted == {"id": 1, "channel": "C0LEADS", "ts": "100.000001", "mentioned": 1,
                      "posted_at": iso_ms(loop.clock.now), "held": None, "called_at": None,
                      "more": 0}  # fmt: skip


async def test_a_group_without_detractors_posts_nothing(loop: Loop) -> None:
    await loop.alerts.post([])
    assert loop.poster.top() == []
    assert loop.store.sync(
        lambda db: db.execute("select count(*) from detractor_messages").fetchone()
    ) == (0,)


async def test_a_burst_past_what_a_message_lists_stays_within_slacks_blocks(loop: Loop) -> None:
    found = await loop.burst(*[f"T{i}" for i in range(LISTED + 7)])
    first, rest = loop.poster.top()
    assert len(first["blocks"]) <= 50 and len(rest["blocks"]) <= 50
    assert len(buttons(first)) == 2 * LISTED and len(buttons(rest)) == 2 * 7
    # every detractor has its buttons and its message: none is only counted
    assert all(loop.row(d)["message_ts"] and loop.row(d)["alerted_at"] for d in found)


async def test_take_take_over_handled_and_handled_again(loop: Loop) -> None:
    a, b = await loop.burst("A", "B")
    await loop.alerts.take(a.id, "U0ANA")
    await loop.alerts.take(a.id, "U0ANA")  # again: recorded, nothing new to tell
    loop.clock.seconds += 60
    await loop.alerts.take(a.id, "U0BEN")  # someone else: takes it over
    await loop.alerts.handle(a.id, "U0BEN", "Called back\nrefunded")
    with pytest.raises(ActionError) as again:
        await loop.alerts.handle(a.id, "U0CAT", "me too")
    assert again.value.code == "already_handled"
    assert again.value.details == {"by": "U0BEN", "at": iso_ms(loop.clock.now),
                                   "note": "Called back\nrefunded"}  # fmt: skip
    with pytest.raises(ActionError) as late:
        await loop.alerts.take(a.id, "U0CAT")  # handled: nobody takes it any more
    assert late.value.code == "already_handled"
    assert loop.events(a) == [
        ("U0ANA", "take", ""), ("U0ANA", "take", ""), ("U0BEN", "take", ""),
        ("U0BEN", "handled", "Called back\nrefunded"),
    ]  # fmt: skip
    assert loop.events(b) == []
    row = loop.row(a)
    assert (row["taken_by"], row["handled_by"], row["handled_note"]) == (
        "U0BEN", "U0BEN", "Called back\nrefunded")  # fmt: skip
    said = [m["text"] for m in loop.poster.thread()]
    assert said == [  # the loop's clicks carry no name: "someone", never a mention
        ":raising_hand: someone took ticket <https://help.example/t/A|`A`>",
        ":raising_hand: someone took over ticket <https://help.example/t/A|`A`>",
        ":white_check_mark: someone handled ticket <https://help.example/t/A|`A`>: "
        "Called back refunded",
    ]
    assert all("<!" not in text and "<@" not in text for text in said)  # pings nobody
    assert [ts for _, _, ts in loop.poster.posts] == [None, "100.000001", "100.000001",
                                                      "100.000001"]  # fmt: skip
    assert len(loop.poster.updates) == 3  # one redraw per click that changed something


async def test_the_redraw_shows_who_took_it_and_when_it_was_handled(loop: Loop) -> None:
    a, b, c = await loop.burst("A", "B", "C")
    await loop.alerts.take(a.id, "U0ANA")
    await loop.alerts.take(b.id, "U0BEN")
    await loop.alerts.handle(b.id, "U0BEN", "<!channel> solved")
    channel, ts, message = loop.poster.updates[-1]
    assert (channel, ts) == ("C0LEADS", "100.000001")
    first, second, third = lines(message)[1:]
    assert first.endswith("\n:raising_hand: taken by <@U0ANA>")
    unix = int(loop.clock.now.timestamp())
    date = f"<!date^{unix}^{{date_short_pretty}} {{time}}|2026-03-02 13:25 UTC>"
    assert second.endswith(
        f"\n:white_check_mark: taken by <@U0BEN> · handled by <@U0BEN> at {date}: "
        "&lt;!channel&gt; solved"
    )
    assert third.endswith(">bad C")  # nothing happened to it
    assert buttons(message) == [  # a handled one has nothing left to click
        ("detractor_take", "Take over", a.id), ("detractor_handled", "Handled", a.id),
        ("detractor_take", "I'll take it", c.id), ("detractor_handled", "Handled", c.id),
    ]  # fmt: skip
    assert "<!subteam^S0LEADS>" in texts(message)  # redrawn as posted (an edit pings nobody)


async def test_handled_opens_a_modal_with_the_response_in_private_metadata(loop: Loop) -> None:
    (a,) = await loop.burst("A")
    await loop.alerts.open_handled(a.id, "123.456.abc")
    ((trigger, view),) = loop.poster.views
    assert trigger == "123.456.abc"
    assert (view["type"], view["callback_id"], view["private_metadata"]) == (
        "modal", "detractor_handled", a.id)  # fmt: skip
    assert view["title"]["text"] == "Detractor handled"
    note = view["blocks"][-1]
    assert (note["type"], note["block_id"], note["optional"]) == ("input", "note", True)
    assert (note["element"]["action_id"], note["element"]["multiline"]) == ("note", True)
    await loop.alerts.handle(a.id, "U0ANA", "")
    with pytest.raises(ActionError, match="already_handled"):
        await loop.alerts.open_handled(a.id, "123.456.abd")  # told, no second modal
    assert len(loop.poster.views) == 1


@pytest.mark.parametrize("response_id", ["0" * 20, "f" * 20])
async def test_an_id_no_message_listed_is_refused(loop: Loop, response_id: str) -> None:
    await loop.burst("A")
    (never,) = loop.stored("NEVER-POSTED")  # stored, but no message listed it yet
    for unknown in (response_id, never.id):
        for click in (loop.alerts.take(unknown, "U0ANA"), loop.alerts.handle(unknown, "U0ANA", ""),
                      loop.alerts.open_handled(unknown, "1.2")):  # fmt: skip
            with pytest.raises(ActionError, match="no_detractor"):
                await click
    assert loop.poster.updates == [] and loop.poster.views == []


async def test_a_second_burst_within_the_hour_does_not_call_the_leads_in(loop: Loop) -> None:
    await loop.burst("A")
    first = loop.clock.now
    loop.clock.seconds += 30 * 60
    await loop.burst("B")
    loop.clock.seconds += 31 * 60
    await loop.burst("C")
    one, two, three = loop.poster.top()
    assert "<!subteam^S0LEADS>" in texts(one)
    assert "<!subteam^S0LEADS>" not in texts(two)
    called = f"<!date^{int(first.timestamp())}^{{date_short_pretty}} {{time}}|2026-03-02 13:25 UTC>"
    assert f"(leads were called in at {called})" in texts(two)
    assert "<!subteam^S0LEADS>" in texts(three)  # an hour after the last call


async def test_the_pacing_survives_a_restart(tmp_path: Path) -> None:
    first = Loop(path=tmp_path / "bot.db")
    await first.burst("A")
    first.store.close()
    second = Loop(path=tmp_path / "bot.db")  # a new process on the same file
    second.clock.seconds += 10 * 60
    try:
        await second.burst("B")
        (again,) = second.poster.top()
        assert "<!subteam^S0LEADS>" not in texts(again)
        assert "(leads were called in at <!date^" in texts(again)
    finally:
        second.store.close()


async def test_quiet_hours_post_without_calling_anyone_in() -> None:
    quiet = Loop(DetractorRules(mention_every=0, quiet_hours=QuietHours(time(14), time(8))))
    try:
        (a,) = await quiet.burst("A")  # 14:25 Berlin
        (message,) = quiet.poster.top()
        assert "<!subteam" not in texts(message)
        assert "(quiet hours: the leads were not called in)" in texts(message)
        await quiet.alerts.take(a.id, "U0ANA")
        assert "quiet hours" in texts(quiet.poster.updates[-1][2])  # redrawn as posted
    finally:
        quiet.store.close()


async def test_every_burst_calls_the_leads_in_with_0m() -> None:
    eager = Loop(DetractorRules(mention_every=0))
    try:
        await eager.burst("A")
        await eager.burst("B")
        assert all("<!subteam^S0LEADS>" in texts(m) for m in eager.poster.top())
    finally:
        eager.store.close()


async def test_without_a_mention_nothing_is_said_about_calling_anyone() -> None:
    plain = Loop(mention="")
    try:
        await plain.burst("A")
        (message,) = plain.poster.top()
        assert "called in" not in texts(message) and "<!" not in texts(message)
    finally:
        plain.store.close()


@pytest.mark.parametrize("hostile", HOSTILE[::7], ids=lambda h: repr(h[:20]))
async def test_hostile_comments_and_notes_never_ping(loop: Loop, hostile: str) -> None:
    (a,) = await loop.burst("A", comment=hostile)
    await loop.alerts.take(a.id, "U0ANA")
    await loop.alerts.handle(a.id, "U0ANA", hostile)
    row = loop.row(a)
    assert "\ud800" not in (row["handled_note"] or "")  # what SQLite could not store: cleaned
    said = [*loop.poster.top(), *loop.poster.thread(), *(m for *_, m in loop.poster.updates)]
    for message in said:
        for text in (message["text"], texts(message)):
            assert unpinged(text), text[:200]
    top = texts(loop.poster.top()[0])
    assert top.count("<!subteam^S0LEADS>") == 1  # the configured call, once


async def test_counts_for_the_digest(loop: Loop) -> None:
    received = loop.clock.now
    a, b, c, _ = await loop.burst("A", "B", "C", "D")
    loop.stored("NOT-A-DETRACTOR", comment="")  # no comment: no detractor
    await loop.alerts.take(a.id, "U0ANA")
    await loop.alerts.handle(b.id, "U0BEN", "")
    await loop.alerts.take(c.id, "U0CAT")
    await loop.alerts.handle(c.id, "U0CAT", "done")

    def counts(since: datetime, until: datetime) -> dict[str, int]:
        return loop.store.sync(lambda db: queries.detractor_counts(db, since, until))

    found = counts(received - HOUR, received + HOUR)
    assert found == {"total": 4, "handled": 2, "taken": 1, "open": 1}
    assert counts(received + timedelta(seconds=1), received + HOUR)["total"] == 0
    assert counts(received - HOUR, received)["total"] == 0  # until is not included


async def test_a_ticket_id_too_long_for_a_link_is_shown_and_the_burst_goes_out(
    loop: Loop,
) -> None:
    long, fine = "9" * 5000, "T2"
    await loop.burst(long, fine)
    (message,) = loop.poster.top()
    assert len(buttons(message)) == 4  # both detractors, each with its buttons
    assert "<https://help.example/t/T2|`T2`>" in str(message["blocks"])
    assert f"/t/{long}" not in str(message["blocks"])  # too long to link: shown, cut


async def test_a_refused_message_is_tried_again_while_the_process_runs(loop: Loop) -> None:
    loop.poster.fail = 2  # Slack refuses twice, then takes it
    found = await loop.burst("A")
    for _ in range(5):
        await loop.alerts.idle()
    (message,) = loop.poster.top()
    assert "A" in message["text"] and loop.row(found[0])["message_ts"]
