"""Sample data for every template: `check` renders each one with it, tests too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.grammar import Query
from bot.metrics import CsatCounts, CsatReport, CsatRow, bucket_window

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


def contexts() -> dict[str, list[dict[str, Any]]]:
    """Per template, the contexts it must render with."""
    skills = Query("/csat", "liveperson", "skill", "all", 7)
    one = Query("/csat", "liveperson", "skill", ("1",), 60)
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
        ],
        "working.yml.j2": [{"query": one, "vendor": "LivePerson"}],
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
    }
