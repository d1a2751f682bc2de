"""Sample data for every template: `check` renders each one with it, tests too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Digest
from bot.metrics import (
    AgentStates,
    AgentStatesReport,
    CsatCounts,
    CsatReport,
    CsatRow,
    GoodBad,
    Interval,
    ResponseTimes,
    StateTime,
    bucket_window,
    exact_window,
)
from bot.query import Query
from bot.snapshots.rows import TOTAL, Change

NOW = datetime(2026, 3, 2, 13, 29, tzinfo=UTC)


def csat_report(rows: int = 3, agents: int = 2) -> CsatReport:
    """A skill report with `rows` skills of `agents` agents each, plus Unassigned."""
    skill_rows = []
    for s in range(rows):
        members = tuple(
            CsatRow(
                "agent",
                str(100 + 10 * s + a),
                f"Agent {100 + 10 * s + a}",
                CsatCounts.from_scores((a, 1, 2, 5 + a, 20 + s)),
            )
            for a in range(agents)
        )
        total = sum((m.counts for m in members), CsatCounts())
        skill_rows.append(CsatRow("skill", str(s + 1), f"Skill {s + 1}", total, members))
    skill_rows.append(CsatRow("skill", "-1", "Unassigned", CsatCounts.from_scores((2, 0, 1, 1, 3))))
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
        reasons = (("Reason 2642559712", StateTime(72, 0, 72, 0)),) if i % 2 == 0 else ()
        logged = StateTime(int(7200 * scale), int(2486 * scale), int(4714 * scale), 0)
        states = (("Online", online), ("Back soon", back), ("Away", away))
        return AgentStates(str(i + 2), f"Agent {i + 2}", logged, states, reasons)

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


def digest_contexts() -> dict[str, list[dict[str, Any]]]:
    """The digest templates with a previous snapshot, without one, and a large account."""
    zone = ZoneInfo("Europe/Berlin")
    every = {"channel": "C0123456789", "cron": "0 9 * * 1-5", "timezone": zone}
    csat = Digest(name="csat-daily", source="liveperson", skills="all", **every)
    states = Digest(name="availability-daily", kind="availability", source="liveperson", **every)
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
    return {
        "digest_csat.yml.j2": [
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
    """An alert as it opens, persists, worsens, is acknowledged and snoozed, and resolves."""
    from bot.alerts.detect import Evaluation, Metric

    alert = {
        "id": 7,
        "problem": "liveperson|csat|total:|csat",
        "source": "liveperson",
        "kind": "csat",
        "entity_kind": "total",
        "entity_id": "",
        "entity_name": "Total",
        "metric": "csat",
        "status": "firing",
        "opened_at": "2026-03-02T08:00:00+00:00",
        "channel": "C0LEADS00",
        "ts": "1.2",
        "last_reason": "down 12.2 points",
        "updates": 0,
    }
    ev = Evaluation(
        "total",
        "",
        "Total",
        Metric.CSAT,
        True,
        "down 12.2 points from the previous snapshot (p = 0.000)",
        0.639,
        0.761,
        "the previous snapshot",
        12.2,
        2664,
        (0.62, 0.657),
        (0.744, 0.777),
        0.0001,
        ({"name": "Skill 12", "points": -43.0, "answers": 720, "weight": -300},),
    )
    logged = Evaluation(
        "agent",
        "1001",
        "Agent 1001",
        Metric.LOGGED_IN,
        True,
        "logged-in time 45% below the last 7 snapshots",
        9000,
        16400,
        "the last 7 snapshots",
        45.0,
    )
    acked = {
        **alert,
        "acked_by": "U0LEAD",
        "acked_at": "2026-03-02T08:05:00+00:00",
        "snoozed_until": "2026-03-03T08:05:00+00:00",
        "snoozed_by": "U0LEAD",
    }
    resolved = {**alert, "status": "resolved", "resolved_at": "2026-03-04T08:00:00+00:00"}
    base = {"label": "digest csat-daily", "mention": "<!subteam^S0LEADS>"}
    return {
        "alert.yml.j2": [
            {**base, "alert": alert, "evaluation": ev, "fresh": True},
            {**base, "alert": acked, "evaluation": None, "fresh": False},
            {**base, "alert": resolved, "evaluation": None, "fresh": False},
            {
                **base,
                "alert": {
                    **alert,
                    "metric": "logged_in",
                    "entity_kind": "agent",
                    "entity_name": "Agent 1001",
                    "kind": "availability",
                },
                "evaluation": logged,
                "fresh": True,
            },
        ],
        "alert_update.yml.j2": [
            {"alert": alert, "evaluation": ev, "action": a, "why": "first", "label": "csat-daily"}
            for a in ("open", "thread", "worse", "resolve")
        ]
        + [{"alert": alert, "evaluation": logged, "action": "open", "why": "first", "label": ""}],
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


def contexts() -> dict[str, list[dict[str, Any]]]:
    """Per template, the contexts it must render with."""
    skills = Query("/csat", "liveperson", "skill", "all", 7)
    one = Query("/csat", "liveperson", "skill", ("1",), 60)
    states = Query("/agent-states", "liveperson", "agent", "all", 120)
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
        ],
        "working.yml.j2": [
            {"query": one, "vendor": "LivePerson"},
            {"query": lc, "vendor": "LiveChat"},
        ],
        "usage.yml.j2": [
            {"command": "/csat", "problem": "I don't understand `<sample>`."},
            {"command": "/agent-states", "problem": "Give the ids only once."},
        ],
        "help.yml.j2": [
            {"command": c, "sources": ["liveperson"], "default_source": "liveperson"}
            for c in ("/csat", "/agent-states")
        ],
        "vendor_error.yml.j2": [
            {"vendor": "LivePerson", "kind": k, "detail": "HTTP 503 after 3 tries", "hint": ""}
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
        + [{"vendor": "", "kind": "NotConfigured", "detail": "", "hint": "set credentials"}],
        "internal_error.yml.j2": [{}],
        **digest_contexts(),
        **alert_contexts(),
        **detractor_contexts(),
    }
