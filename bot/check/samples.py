"""Sample data for every template: `check` renders each one with it, tests too."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Digest
from bot.db import REASONS as DATABASE_CODES
from bot.digests.run import Period
from bot.errors import UsageError
from bot.home.modals import sample_contexts
from bot.metrics import (
    AWAY,
    BACK_SOON,
    ONLINE,
    AgentStates,
    AgentStatesReport,
    Coverage,
    CsatCounts,
    CsatReport,
    CsatRow,
    GoodBad,
    Interval,
    ResponseTimes,
    StateTime,
    Window,
    bucket_window,
    exact_window,
    floor_hour,
)
from bot.query import Query
from bot.snapshots.rows import TOTAL, Change

NOW = datetime(2026, 3, 2, 13, 29, tzinfo=UTC)


def csat_report(rows: int = 3, agents: int = 2) -> CsatReport:
    """A skill report with `rows` skills of `agents` agents each, plus Unassigned; without
    agents, every tenth skill has no answers."""
    skill_rows = []
    for s in range(rows):
        members = tuple(
            CsatRow(
                "agent",
                str(100 + 10 * s + a),
                None,
                CsatCounts.from_scores((a, 1, 2, 5 + a, 20 + s)),
            )
            for a in range(agents)
        )
        total = sum((m.counts for m in members), CsatCounts())
        if not agents and s % 10:  # skills without agents: their own counts, a tenth none
            total = CsatCounts.from_scores((0, 0, 1, 1, s % 5))
        skill_rows.append(CsatRow("skill", str(s + 1), None, total, members))
    skill_rows.append(CsatRow("skill", "-1", None, CsatCounts.from_scores((2, 0, 1, 1, 3))))
    return CsatReport(
        source="liveperson",
        vendor="LivePerson",
        scope="skill",
        window=bucket_window(NOW, 7),
        total=sum((r.counts for r in skill_rows), CsatCounts()),
        rows=tuple(skill_rows),
        fetched_at=NOW,
    )


def livechat_report(times: bool = True) -> CsatReport:
    """LiveChat thumbs over a week, as the document's ratings and ranking examples."""
    rows = (
        CsatRow("agent", "smith@example.com", "smith@example.com", GoodBad(0, 2, 2)),
        CsatRow("agent", "agent@example.com", "agent@example.com", GoodBad(13, 6, 19)),
    )
    return CsatReport(
        "livechat",
        "LiveChat",
        "group",
        exact_window(NOW, 7 * 1440),
        GoodBad(32, 17, 83),
        rows,
        fetched_at=NOW,
        response_times=ResponseTimes(19.4, 30, 21.0, 30) if times else None,
    )


def agent_states_report(agents: int = 2, intervals: int = 0) -> AgentStatesReport:
    """`agents` agents over two hours, split into `intervals` intervals when > 0."""
    window = exact_window(NOW, 120)

    def agent(i: int, scale: float = 1.0) -> AgentStates:
        online = StateTime(int(4714 * scale), 0, int(4714 * scale), 0)
        back = StateTime(int(2361 * scale), int(2361 * scale), 0, 0)
        away = StateTime(0, 0, int(125 * scale), 0)  # the document's total 0 beside 125
        reasons = (("2642559712", StateTime(72, 0, 72, 0)),) if i % 2 == 0 else ()
        logged = StateTime(int(7200 * scale), int(2486 * scale), int(4714 * scale), 0)
        states = ((ONLINE, online), (BACK_SOON, back), (AWAY, away))
        return AgentStates(str(i + 2), None, logged, states, reasons)

    parts = tuple(
        Interval(
            NOW - timedelta(minutes=120 - k * 120 // intervals),
            NOW - timedelta(minutes=120 - (k + 1) * 120 // intervals),
            tuple(agent(i, 1 / intervals) for i in range(agents)),
        )
        for k in range(intervals)
    )
    return AgentStatesReport(
        "liveperson",
        "LivePerson",
        window,
        tuple(agent(i) for i in range(agents)),
        parts,
        fetched_at=NOW,
    )


def coverages(asked: int = 7 * 1440, before: int = 0) -> list[Coverage]:
    """What the history covers of a window (ending `before` timeframes ago): all of it, its
    last days (the bot collecting since, or missing the first ones), with gaps (more than a
    line lists), nothing of it, and nothing ever collected."""
    end = floor_hour(NOW) - timedelta(minutes=asked * before)
    start = end - timedelta(minutes=asked)
    hours = [start + timedelta(hours=i) for i in range(asked // 60)]
    holes = {5, 6, 7, 30, 50, 51, 90, 140}
    gappy = [h for i, h in enumerate(hours) if i not in holes]
    return [
        Coverage.of(asked, start, end, hours, start - timedelta(days=30)),
        Coverage.of(asked, start, end, hours[20:], hours[20]),
        Coverage.of(asked, start, end, hours[20:], start - timedelta(days=3)),
        Coverage.of(asked, start, end, gappy[:60] + gappy[61:], start - timedelta(days=3)),
        Coverage.of(asked, start, end, [h for i, h in enumerate(hours) if i not in {3}], start),
        Coverage.of(asked, start, end, [], end + timedelta(hours=1)),
        Coverage.of(asked, start, end, [], None),
    ]


def from_history(report: Any, coverage: Coverage) -> Any:
    """A sample report as the history answers it: its window whole hours, its coverage."""
    window = Window(coverage.start, coverage.start, coverage.end)
    return replace(report, window=window, coverage=coverage)


def digest_contexts() -> dict[str, list[dict[str, Any]]]:
    """The digest templates with a previous snapshot, without one, and a large account."""
    zone = ZoneInfo("Europe/Berlin")
    csat = Digest(
        name="csat-daily", channel="C0123456789", cron="0 9 * * 1-5", timezone=zone,
        source="liveperson", skills="all",
    )  # fmt: skip
    states = replace(csat, name="availability-daily", kind="availability", skills=None)
    previous = {"id": 1, "taken_at": "2026-03-01T08:00:00+00:00"}
    report, big = csat_report(), csat_report(rows=500, agents=0)
    moved = {(TOTAL, ""): Change(-2.4, 12)} | {
        ("skill", r.id): Change(1.5 * (i % 3 - 1), 3) for i, r in enumerate(report.rows)
    }
    team = agent_states_report(5)
    moved_states = {(TOTAL, ""): Change(logged_in=-3900, away_share_points=4.2)} | {
        ("agent", a.id): Change(logged_in=600 * (i - 2)) for i, a in enumerate(team.agents)
    }
    base = {"top": 15, "total_key": (TOTAL, "")}
    weekly = replace(csat, name="csat-weekly", timeframe=7 * 1440)
    monthly = replace(csat, name="csat-monthly", timeframe=30 * 1440)
    weekly_states = replace(states, name="availability-weekly", timeframe=7 * 1440)
    periods = [  # the period before, against each coverage; and this one's coverage
        Period(c.asked, Window(c.start, c.start, c.end), c, now)
        for c, now in zip(reversed(coverages(before=1)), coverages(), strict=True)
    ]
    month = coverages(30 * 1440, before=1)[1]
    monthly_period = Period(month.asked, Window(month.start, month.start, month.end), month)
    return {
        "digest_csat.yml.j2": [
            *(
                {
                    **base,
                    "digest": weekly,
                    "query": weekly.query(),
                    "report": from_history(report, coverage),
                    "changes": moved if period.comparable else {},
                    "previous": previous if i % 2 else None,
                    "period": period,
                }
                for i, (coverage, period) in enumerate(zip(coverages(), periods, strict=True))
            ),
            {
                **base,
                "digest": monthly,
                "query": monthly.query(),
                "report": from_history(report, coverages(30 * 1440)[0]),
                "changes": moved,
                "previous": None,
                "period": monthly_period,
            },
            {
                **base,
                "digest": csat,
                "query": csat.query(),
                "report": report,
                "changes": moved,
                "previous": previous,
            },
            {
                **base,
                "digest": csat,
                "query": csat.query(),
                "report": report,
                "changes": {},
                "previous": None,
            },
            {
                **base,
                "digest": csat,
                "query": csat.query(),
                "report": big,
                "changes": {},
                "previous": previous,
            },
            {
                **base,
                "digest": csat,
                "query": csat.query(),
                "report": livechat_report(),
                "changes": {},
                "previous": None,
            },
        ],
        "digest_availability.yml.j2": [
            *(
                {
                    **base,
                    "digest": weekly_states,
                    "query": weekly_states.query(),
                    "report": from_history(team, coverage),
                    "changes": moved_states if period.comparable else {},
                    "previous": previous,
                    "period": period,
                }
                for coverage, period in zip(coverages(), periods, strict=True)
            ),
            {
                **base,
                "digest": states,
                "query": states.query(),
                "report": team,
                "changes": moved_states,
                "previous": previous,
            },
            {
                **base,
                "digest": states,
                "query": states.query(),
                "report": agent_states_report(5000),
                "changes": {},
                "previous": None,
            },
            {
                **base,
                "digest": states,
                "query": states.query(),
                "report": agent_states_report(0),
                "changes": {},
                "previous": None,
            },
        ],
    }


def alert_contexts() -> dict[str, list[dict[str, Any]]]:
    """An alert as it opens, persists, worsens, is acknowledged and snoozed, and resolves;
    one stored before reasons had codes, and every reason a template must word."""
    from bot.alerts.detect import Evaluation, Metric, Reason

    drop = Reason("drop", {"points": 12.2, "runs": 1, "p": 0.0001, "alpha": 0.0017, "tests": 30})
    alert = {
        "id": 7,
        "problem": "liveperson|csat|total:|csat",
        "source": "liveperson",
        "kind": "csat",
        "entity_kind": "total",
        "entity_id": "",
        "entity_name": None,
        "metric": "csat",
        "status": "firing",
        "opened_at": "2026-03-02T08:00:00+00:00",
        "channel": "C0LEADS00",
        "ts": "1.2",
        "last_reason": drop,
        "updates": 0,
        "opened_against": 0.761,
        "headline": {
            "metric": "csat",
            "p": 0.0001,
            "answers": 2664,
            "entity_kind": "skill",
            "entity_id": "12",
            "entity_name": None,
            "now": 0.33,
            "change": -43.0,
            "account_now": 0.639,
            "account_change": -12.2,
        },
    }
    mover = {"entity_kind": "skill", "entity_id": "12", "entity_name": None, "now": 0.33,
             "before": 0.76, "answers": 720, "lost": 11.6, "share": 0.95}  # fmt: skip
    ev = Evaluation(
        "total", "", None, Metric.CSAT, True, drop, 0.639, 0.761, 1, 12.2, 2664, (0.62, 0.657),
        (0.744, 0.777), 0.0001, (mover,),
    )  # fmt: skip
    low = Reason("logged_in_low", {"share": 0.45, "runs": 7})
    agent = {"entity_kind": "agent", "entity_id": "1001", "entity_name": None, "now": 9000,
             "before": 16400, "answers": None, "lost": 7400, "share": 0.6}  # fmt: skip
    logged = Evaluation(
        "total", "", None, Metric.LOGGED_IN, True, low, 9000, 16400, 7, 45.0, movers=(agent,)
    )  # fmt: skip
    acked = {
        **alert,
        "acked_by": "U0LEAD",
        "acked_at": "2026-03-02T08:05:00+00:00",
        "snoozed_until": "2026-03-03T08:05:00+00:00",
        "snoozed_by": "U0LEAD",
    }
    resolved = {
        **alert,
        "status": "resolved",
        "resolved_at": "2026-03-04T08:00:00+00:00",
        "last_reason": Reason("back_within", {"margin": 2.5, "metric": "csat"}),
    }
    by_hand = {
        **resolved,
        "resolved_by": "U0LEAD",
        "resolved_note": "Orders' macro fixed.\n<!here>",
    }
    away = {"entity_kind": "agent", "entity_id": "1002", "entity_name": None, "now": 0.4,
            "before": 0.1, "answers": None, "lost": 30.0, "share": None}  # fmt: skip
    rise = Evaluation(
        "total", "", None, Metric.AWAY_SHARE, True,
        Reason("away_high", {"points": 30.0, "runs": 7}), 0.4, 0.1, 7, 30.0, movers=(away,),
    )  # fmt: skip
    events = [
        {"alert_id": 7, "at": "2026-03-02T08:05:00+00:00", "user": "U0LEAD", "action": a,
         "note": note, "until": until, "user_name": "ana"}
        for a, note, until in [
            ("acknowledge", "", None), ("acknowledge", "from U0OTHER", None),
            ("resolve", "Fixed the macro.\n<!channel> *bold*", None), ("resolve", "", None),
            ("snooze", "", "2026-03-03T08:05:00+00:00"), ("unsnooze", "", None),
        ]
    ]  # fmt: skip
    legacy = {**alert, "last_reason": Reason.load("down 12.2 points")}
    every = [
        Reason("few_answers", {"answers": 3, "needed": 20}),
        Reason("nothing_earlier"),
        Reason("up", {"points": 1.5, "runs": 7}),
        Reason("small_drop", {"points": 2.5, "runs": 1, "needed": 5.0}),
        Reason("not_credible", {"points": 6.1, "runs": 3, "p": 0.2}),
        Reason("few_snapshots", {"snapshots": 2}),
        Reason("logged_in_normal", {"share": -0.05, "runs": 7}),
        Reason("away_high", {"points": 12.0, "runs": 7}),
        Reason("away_normal", {"points": -1.0}),
        Reason("still_off", {"gap": 8.1, "metric": "csat"}),
        Reason("still_off", {"gap": 40.0, "metric": "logged_in"}),
        Reason("back_within", {"margin": 5.0, "metric": "away_share"}),
    ]
    base = {"digest": "csat-daily", "mention": "<!subteam^S0LEADS>"}
    return {
        "alert.yml.j2": [
            {**base, "alert": alert, "state": "firing", "fresh": True},
            {**base, "alert": acked, "state": "snoozed", "fresh": False},
            {**base, "alert": acked, "state": "acknowledged", "fresh": False},
            {**base, "alert": resolved, "state": "resolved", "fresh": False},
            {**base, "alert": by_hand, "state": "resolved", "fresh": False},
            {**base, "alert": legacy | {"headline": None}, "state": "firing", "fresh": False},
            {
                **base,
                "alert": {
                    **alert,
                    "metric": "logged_in",
                    "entity_kind": "agent",
                    "entity_id": "1001",
                    "kind": "availability",
                    "headline": {
                        "metric": "logged_in",
                        "entity_kind": "agent",
                        "entity_id": "1001",
                        "now": 9000,
                        "change": -45.0,
                        "account_now": 80000,
                        "account_change": -12.0,
                    },
                },
                "state": "firing",
                "fresh": True,
            },
        ],
        "alert_event.yml.j2": [{"alert": acked, "event": e} for e in events],
        "alert_resolve.yml.j2": [{"alert_id": 7, "initial": 1772438400}],
        "alert_snooze.yml.j2": [{"alert_id": 7, "initial": 1772438400}],
        "alert_update.yml.j2": [
            {"alert": alert, "evaluation": ev, "action": a, "why": "first", "digest": "csat-daily"}
            for a in ("open", "thread", "worse", "resolve")
        ]
        + [
            {"alert": alert, "evaluation": logged, "action": a, "why": "first", "digest": ""}
            for a in ("open", "resolve")
        ]
        + [
            {
                "alert": alert | {"metric": "away_share"},
                "evaluation": rise,
                "action": "open",
                "why": "first",
                "digest": "",
                "min_answers": 20,
            }
        ]
        + [
            {
                "alert": alert,
                "evaluation": replace(ev, reason=r),
                "action": "thread",
                "why": "",
                "digest": "csat-daily",
            }
            for r in every
        ],
    }


def detractor_contexts() -> dict[str, list[dict[str, Any]]]:
    """One detractor, a burst longer than a message lists, and awkward text from outside."""
    from bot.surveys.detractors import LISTED, Detractor

    one = Detractor("a1", "1001", "922250816601", 1, 1, 5, "Waited 40 minutes & nobody <came>.",
                    "Very unhappy", "2026-03-02T13:20:00.000Z")  # fmt: skip
    burst = [
        Detractor(f"b{i}", f"agent{i}@example.com", f"T-{i}", 0, 0, 10, "x" * 3000)
        for i in range(LISTED)
    ]
    odd = Detractor("c1", "*bold*", "`tick`", 1, 1, 7, "line one\nline two", "", "")
    return {
        "detractors.yml.j2": [
            {"detractors": [one], "more": 0, "mention": "<!subteam^S0LEADS>"},
            {"detractors": burst, "more": 35, "mention": ""},
            {"detractors": [odd], "more": 0, "mention": ""},
        ]
    }


def usage_contexts() -> list[dict[str, Any]]:
    """Every problem a command can have, as the grammar and the sources raise it."""
    problems = [
        UsageError("unknown_word", word="<sample>", cut=False, suggestion=""),
        UsageError("unknown_word", word="skil", cut=False, suggestion="skill"),
        UsageError("unknown_word", word="x" * 40, cut=True, suggestion=""),
        UsageError("not_positive", word="0m", cut=False, suggestion=""),
        UsageError("unit_word", "/agent-states", word="skill"),
        UsageError("given_twice", "/agent-states", what="ids"),
        UsageError("given_twice", what="source"),
        UsageError("given_twice", what="unit"),
        UsageError("too_many_durations"),
        UsageError("too_many_durations", "/agent-states"),
        UsageError("too_long", word="99999999999999999999m", cut=False, limit=3650 * 1440),
        UsageError("id_too_long", word="9" * 40, limit=254),
        UsageError("ids_without_unit"),
        UsageError("no_such_unit", source="livechat", unit="skill", have=["group", "agent"]),
        UsageError("ids_not_numbers", source="liveperson", unit="skill", id="billing"),
        UsageError("timeframe_too_long", source="liveperson", timeframe=10080, limit=1440),
        UsageError("beyond_history", source="liveperson", timeframe=600 * 1440, limit=400 * 1440),
        UsageError(
            "history_interval",
            "/agent-states",
            source="liveperson",
            interval=90,
            timeframe=7 * 1440,
            most=288,
            zone="Europe/Berlin",
        ),
        UsageError(
            "interval_does_not_fit",
            "/agent-states",
            source="liveperson",
            interval=7,
            timeframe=60,
            least=5,
        ),
        UsageError("no_intervals", "/agent-states", source="livechat"),
        UsageError("csat_only", "/agent-states", source="ingested"),
        UsageError("trend_first"),
        UsageError("trend_csat_only", "/agent-states"),
        UsageError("trend_too_short", timeframe=240),
        UsageError("trend_too_long", timeframe=800 * 1440, limit=730 * 1440),
        UsageError("trend_unavailable", source="livechat"),
        UsageError("trend_unavailable", source="liveperson"),
        UsageError(
            "ambiguous_name",
            source="liveperson",
            unit="agent",
            word="sam",
            candidates=[{"id": "1004", "name": "Sam"}, {"id": "1009", "name": "Sam"}],
        ),
        UsageError(
            "unknown_name",
            source="liveperson",
            unit="skill",
            word="biling",
            nearest=["Billing"],
            suggestion="",
        ),
        UsageError(
            "unknown_name",
            "/agent-states",
            source="livechat",
            unit="agent",
            word="livechta",
            nearest=[],
            suggestion="livechat",
        ),
        UsageError("unknown_ids", source="liveperson", unit="skill", ids=["99"], more=0),
        UsageError("unknown_ids", source="liveperson", unit="agent", ids=["1", "2"], more=3),
        UsageError("names_unavailable", source="livechat", unit="group", word="Sales"),
    ]
    return [{"command": p.command, "problem": p} for p in problems]


def trend_series(days: int, entities: int, step: str = "day", quiet: int = 0) -> dict[str, Any]:
    """A CSAT series as the history gives it: "" the total, then `entities` skills, busiest
    first, with a dip in the middle; `quiet` of them with a few answers only."""
    from datetime import date

    series: dict[str, list[tuple[date, CsatCounts]]] = {}
    today = NOW.astimezone(ZoneInfo("Europe/Berlin")).date()
    every = 7 if step == "week" else 1
    for e in range(entities):
        points = []
        for i in range(0, days, every):
            if e >= entities - quiet and i >= 3 * every:
                break  # a few answers at the start only
            when = today - timedelta(days=days - 1 - i)
            when -= timedelta(days=when.weekday() if step == "week" else 0)
            n = 2 if e >= entities - quiet else 60 - 4 * e + i % 7
            bad = n // 3 if days // 3 <= i <= days // 2 else n // 8
            points.append((when, CsatCounts.from_scores((bad, 0, 1, n // 3, n - bad - 1 - n // 3))))
        if e == 1 and len(points) > 3:
            del points[2]  # a day nobody answered
        series[str(e + 1)] = points
    total: dict[date, CsatCounts] = {}
    for points in series.values():
        for when, counts in points:
            total[when] = total[when] + counts if when in total else counts
    return {"": sorted(total.items()), **series}


def trend_contexts() -> dict[str, list[dict[str, Any]]]:
    """`/csat trend`: a month day by day with its history partly covered, two years week by
    week, one skill with a few answers, nothing collected yet, and each part of its button."""
    from bot.commands.trend import FEW, Coverage, Redraw, TrendReport, period, trend_lines

    zone = ZoneInfo("Europe/Berlin")
    found = []
    for query, days, entities, quiet, coverage in [
        (Query("/csat", "liveperson", "skill", "all", 30 * 1440, trend=True), 30, 9, 2,
         Coverage(292, 30 * 24, NOW - timedelta(days=12))),
        (Query("/csat", "liveperson", "skill", ("1", "2", "3"), 730 * 1440, trend=True), 730, 3, 1,
         Coverage(730 * 24, 730 * 24, NOW - timedelta(days=800))),
        (Query("/csat", "ingested", "agent", ("4242",), 3 * 1440, trend=True), 3, 1, 1, None),
        (Query("/csat", "liveperson", "skill", tuple(str(i) for i in range(1, 31)), 31 * 1440,
               trend=True), 31, 30, 3, Coverage(31 * 24, 31 * 24, NOW - timedelta(days=90))),
        (Query("/csat", "liveperson", trend=True), 30, 0, 0, Coverage(0, 30 * 24, None)),
    ]:  # fmt: skip
        span = period(NOW, query.timeframe, zone, query.source == "liveperson")
        series = trend_series(days, entities, span.step, quiet) if entities else {}
        main, lines, more = trend_lines(series, span, query.unit, query.ids)
        redraw = Redraw(str(query.source), query.unit, query.ids, query.timeframe,
                        int(span.end.timestamp()), "C0TEAM").value()  # fmt: skip
        report = TrendReport(str(query.source), query.unit, query.ids, span, main, lines, more,
                             coverage, redraw)  # fmt: skip
        found.append((query, report))
    answers = [{"query": q, "trend": t, "few": FEW} for q, t in found]
    charts = [{"query": q, "trend": t, "user": "U0LEAD"} for q, t in found]
    refusals = [
        {"refusal": code, "details": details}
        for code, details in [
            ("unknown_button", {}), ("elsewhere", {}), ("gone", {}), ("not_in_channel", {}),
            ("channel_not_found", {}), ("is_archived", {}), ("internal", {}),
            ("slack", {"slack_code": "ratelimited"}), ("database", {"database": "locked"}),
        ]
    ]  # fmt: skip
    working = [{"working": q} for q, _ in found]
    return {"csat_trend.yml.j2": [*answers, *charts, *refusals, *working]}


def home_digest(i: int, **changes: Any) -> Any:
    """A digest as the home view lists it: a daily CSAT digest made in Slack, posted."""
    from bot.home.state import DigestLine

    line = DigestLine(
        name=f"csat-team-{i}", kind="csat", source="liveperson", unit="skill", ids=("4", "7"),
        channel="C0123456789", cron="0 9 * * 1-5", schedule="weekdays at 09:00 (Europe/Berlin)",
        timeframe="24h", post=True, origin="slack", paused=False,
        next_run=NOW + timedelta(hours=19, minutes=31), last_run=NOW - timedelta(hours=4),
        last_status="posted", last_error="", last_ts="1772442000.000100", changed_by="U0LEAD",
    )  # fmt: skip
    return replace(line, **changes)


def home_alert(i: int, **changes: Any) -> Any:
    """An open alert as the home view lists it: firing, posted, nobody has it."""
    from bot.home.state import AlertLine

    line = AlertLine(
        id=i, headline=f"CSAT of Skill {i} dropped 12.2 pts", entity=f"skill {i}",
        state="firing", owner="", opened_at=NOW - timedelta(minutes=40 + i), channel="C0LEADS00",
        ts=f"1772438{i:03d}.000200",
    )  # fmt: skip
    return replace(line, **changes)


def home_state(digests: int = 0, alerts: int = 0, admin: bool = True, odd: str = "") -> Any:
    """One person's home: three sources (answering, failing, never asked), a digest of each
    kind, state and origin, `digests` and `alerts` more, a long history; with `odd`, every
    string that comes from outside is that string."""
    from bot.home.state import AlertSettings, AuditLine, HomeState, SourceLine

    refused = "LivePerson refused the credentials (401)"
    long_name = "a-digest-whose-name-is-longer-than-a-menu-value-may-be-" + "x" * 100
    lines = [
        home_digest(0, name="csat-daily", origin="file", ids="all", changed_by=""),
        home_digest(1, name="availability-daily", kind="availability", unit="agent", ids="all",
                    paused=True, next_run=None, last_status="stored", last_ts=""),
        home_digest(2, name="billing-watch", post=False, unit="account", ids=None,
                    cron="*/15 * * * *", schedule="every 15 minutes (Europe/Berlin)",
                    timeframe="1h", last_status="failed", last_error=refused, last_ts=""),
        home_digest(3, name="weekly", timeframe="7d", last_run=None, last_status="", last_ts="",
                    source="", ids=("4",)),
        home_digest(4, name="livechat-groups", source="livechat", unit="group", ids=("1", "2"),
                    last_status="running", last_run=NOW - timedelta(minutes=1), last_ts=""),
        home_digest(5, name="old", last_status="skipped", last_run=NOW - timedelta(days=3)),
        home_digest(6, name=long_name),
        *(home_digest(10 + i) for i in range(digests)),
    ]  # fmt: skip
    owners = ["", "U0LEAD", "U0OTHER"]
    states = ["firing", "acknowledged", "snoozed"]
    found = [
        home_alert(i, state=states[i % 3], owner=owners[i % 3], ts="" if i == 2 else f"17724.{i}")
        for i in range(3 + alerts)
    ]
    actions = ["add", "edit", "pause", "resume", "delete", "send", "preview", "alerts", "refused"]
    history = [
        AuditLine(NOW - timedelta(minutes=5 * i), "U0LEAD", action,
                  "alerts" if action == "alerts" else f"csat-team-{i}",
                  "cron: 0 9 * * 1-5 → 0 8 * * 1-5" if action in ("edit", "alerts") else "")
        for i, action in enumerate(actions + actions[:3])
    ]  # fmt: skip
    state = HomeState(
        user="U0LEAD", admin=admin, now=NOW, config_file="/etc/csat-bot/bot.toml",
        sources=(
            SourceLine("liveperson", True, NOW - timedelta(minutes=3), NOW - timedelta(hours=2),
                       "LivePerson did not answer in time"),
            SourceLine("livechat", False, NOW - timedelta(hours=2), NOW - timedelta(minutes=10),
                       refused),
            SourceLine("ingested", False, None, None, ""),
        ),
        digests=tuple(lines), alerts=tuple(found), history=tuple(history),
        alert_settings=AlertSettings("C0LEADS00", "<!subteam^S0LEADS|@support-leads> <!here>",
                                     20, 5.0, frozenset({"channel", "mention"})),
        workspace_url="https://acme.slack.com/",
    )  # fmt: skip
    return with_odd(state, odd) if odd else state


def with_odd(state: Any, odd: str) -> Any:
    """`state` with every string from outside (names, errors, headlines, channel and user
    ids, details, the workspace's URL) replaced by `odd`, and huge numbers."""
    sources = tuple(replace(s, name=odd, last_error=odd) for s in state.sources)
    digests = tuple(
        replace(d, name=odd, source=odd, ids=(odd, odd), channel=odd, schedule=odd,
                timeframe=odd, last_error=odd, last_ts=odd, changed_by=odd, kind=odd, unit=odd)
        for d in state.digests
    )  # fmt: skip
    alerts = tuple(
        replace(a, headline=odd, entity=odd, owner=odd, channel=odd, ts=odd, state=odd)
        for a in state.alerts
    )
    history = tuple(replace(h, user=odd, target=odd, detail=odd, action=odd) for h in state.history)
    settings = replace(
        state.alert_settings, channel=odd, mention=odd, min_answers=10**40, drop_points=1e300
    )
    return replace(
        state, sources=sources, digests=digests, alerts=alerts, history=history,
        alert_settings=settings, config_file=odd, workspace_url=odd,
    )  # fmt: skip


def home_contexts() -> dict[str, list[dict[str, Any]]]:
    """The home tab of an admin and of anyone else, with many digests and alerts (as many
    as fit), with strings that must neither ping nor break it, and with nothing set up."""
    from bot.home.state import AlertSettings, HomeState
    from bot.home.view import context, fit

    few, many = home_state(), home_state(digests=150, alerts=60)
    odd = home_state(odd="<!channel> *bold* \x00\ud800 " + "&<>" * 3000)
    empty = HomeState("U0LEAD", True, NOW, "bot.toml", (), (), (), (),
                      AlertSettings(None, "", 20, 5.0, frozenset()))  # fmt: skip
    room = 100 - 20  # what the rest of the view leaves, at most
    return {
        "home.yml.j2": [
            context(few, len(few.digests), len(few.alerts)),
            context(replace(few, admin=False), len(few.digests), len(few.alerts)),
            context(many, *fit(room, len(many.digests), len(many.alerts))),
            context(replace(many, admin=False), *fit(room, len(many.digests), len(many.alerts))),
            context(odd, len(odd.digests), len(odd.alerts)),
            context(empty, 0, 0),
        ]
    }


ODD = "<!channel> <@U0LEAD> *bold* \x00\ud800 " + "&<>" * 300  # what people may type


def contexts() -> dict[str, list[dict[str, Any]]]:
    """Per template, the contexts it must render with."""
    skills = Query("/csat", "liveperson", "skill", "all", 7)
    one = Query("/csat", "liveperson", "skill", ("1",), 60)
    week = Query("/csat", "liveperson", "skill", ("1",), 7 * 1440)
    states = Query("/agent-states", "liveperson", "agent", "all", 120)
    by_day = Query("/agent-states", "liveperson", "agent", "all", 7 * 1440, 1440)
    lc = Query("/csat", "livechat", "group", ("1",), 7 * 1440)
    report = csat_report()
    single = CsatReport(**{**report.__dict__, "rows": report.rows[:1]})
    empty = CsatReport(**{**report.__dict__, "total": CsatCounts(), "rows": ()})
    return {
        "csat.yml.j2": [
            {"query": skills, "report": report, "row_limit": 60},
            {"query": one, "report": single, "row_limit": 60},
            {
                "query": Query("/csat", "liveperson", timeframe=1440),
                "report": empty,
                "row_limit": 60,
            },
            {"query": skills, "report": csat_report(rows=200, agents=0), "row_limit": 60},
            {"query": lc, "report": livechat_report(), "row_limit": 60},
            {"query": lc, "report": livechat_report(times=False), "row_limit": 60},
            *(
                {"query": week, "report": from_history(single, c), "row_limit": 60}
                for c in coverages()
            ),
            {
                "query": Query("/csat", "liveperson", timeframe=90 * 1440),
                "report": from_history(empty, coverages(90 * 1440)[-1]),
                "row_limit": 60,
            },
        ],
        "agent_states.yml.j2": [
            {"query": states, "report": agent_states_report(), "detail_limit": 12, "row_limit": 60},
            {
                "query": Query("/agent-states", "liveperson", "agent", "all", 120, 30),
                "report": agent_states_report(3, intervals=4),
                "detail_limit": 12,
                "row_limit": 60,
            },
            {
                "query": states,
                "report": agent_states_report(300),
                "detail_limit": 12,
                "row_limit": 60,
            },
            {
                "query": states,
                "report": agent_states_report(0),
                "detail_limit": 12,
                "row_limit": 60,
            },
            {
                "query": Query("/agent-states", "liveperson", "agent", "all", 1440, 5),
                "report": agent_states_report(2, intervals=288),
                "detail_limit": 12,
                "row_limit": 60,
            },
            *(
                {
                    "query": by_day,
                    "report": from_history(agent_states_report(3, intervals=8), c),
                    "detail_limit": 12,
                    "row_limit": 60,
                }
                for c in coverages()
            ),
        ],
        "working.yml.j2": [{"query": one}, {"query": lc}],
        "usage.yml.j2": usage_contexts(),
        "help.yml.j2": [
            {"command": c, "sources": ["liveperson"], "default_source": "liveperson"}
            for c in ("/csat", "/agent-states")
        ],
        "vendor_error.yml.j2": [
            {"source": source, "kind": k, "detail": "HTTP 503 after 3 tries"}
            for source in ("liveperson", "livechat", "ingested")
            for k in (
                "NotConfigured",
                "VendorAuthError",
                "VendorRejected",
                "VendorRateLimited",
                "VendorUnavailable",
                "VendorTimeout",
                "VendorBadResponse",
            )
        ]
        + [
            {
                "source": "liveperson",
                "kind": "AuthRefused",
                "detail": "HTTP 401",
                "facts": {"auth": auth, "token_version": version, "stage": stage},
            }
            for auth, version, stage in (
                ("oauth1", "", "data"),
                ("oauth2", "v1", "token"),
                ("oauth2", "v1", "data"),
                ("oauth2", "v2", "data"),
            )
        ]
        + [
            {
                "source": "livechat",
                "kind": "WrongRegion",
                "detail": "misdirected_request",
                "facts": {"region": "fra", "api_url": "https://api-fra.livechatinc.com"},
            }
        ]
        + [{"source": "", "kind": "NotConfigured", "detail": ""}],
        "internal_error.yml.j2": [{}, *({"database": code} for code in DATABASE_CODES)],
        "button_error.yml.j2": [
            {"code": "bad_snooze", "details": {"period": "2y", "periods": ["1h", "1d", "1w"]}},
            {"code": "no_alert", "details": {"alert_id": 7}},
            {"code": "stale_resolved", "details": {"resolved_at": "", "resolved_by": "U0LEAD"}},
            {"code": "stale_resolved", "details": {"resolved_at": "", "resolved_by": ""}},
            *(
                {"code": c, "details": {}}
                for c in (
                    "stale_newer",
                    "already_yours",
                    "not_snoozed",
                    "snooze_past",
                    "snooze_missing",
                    "modal",
                )
            ),
            {"code": "snooze_far", "details": {"days": 90}},
            {"code": "unknown_button", "details": {}},
            {"code": "slack", "details": {"slack_code": "channel_not_found"}},
            {"code": "internal", "details": {}},
            *({"code": "database", "details": {"database": c}} for c in DATABASE_CODES),
        ],
        **digest_contexts(),
        **alert_contexts(),
        **detractor_contexts(),
        **trend_contexts(),
        **home_contexts(),
        **sample_contexts(),  # the Home tab's forms
        "home_notice.yml.j2": [
            {"code": code, "digest": name, "reason": reason}
            for code in (
                "sent",
                "stored",
                "skipped",
                "failed",
                "no_runs",
                "no_digest",
                "not_from_slack",
                "not_admin",
                "modal",
                "taken",
                "unknown_button",
                "no_template",
                "failed_form",
                "something else",
            )
            for name, reason in (("csat-weekly", "LivePerson did not answer"), (ODD, ODD))
        ],
    }
