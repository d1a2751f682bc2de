"""Snapshot runs and rows as digests store them, for tests of the tables and the store."""

from __future__ import annotations

import json
from typing import Any

SERIES = "digest:csat-daily"


def run_for(taken_at: str, series: str = SERIES, **extra: Any) -> dict[str, Any]:
    return {
        "series": series,
        "source": "liveperson",
        "kind": "csat",
        "scope": "skill",
        "window_start": "2026-03-01T08:00:00+00:00",
        "window_end": taken_at,
        "taken_at": taken_at,
        "digest": "csat-daily",
        **extra,
    }


def csat_row(entity_id: str, answers: int, positive: int) -> dict[str, Any]:
    kind = "total" if entity_id == "" else "skill"
    scores = (1, 1, answers - positive - 2, positive // 2, positive - positive // 2)
    return {
        "entity_kind": kind,
        "entity_id": entity_id,
        "entity_name": "Total" if kind == "total" else f"Skill {entity_id}",
        "answers": answers,
        "positive": positive,
        "score": positive / answers,
        **{f"s{i}": n for i, n in enumerate(scores, start=1)},
    }


def states_row(entity_id: str, logged_in: int, away: int) -> dict[str, Any]:
    return {
        "entity_kind": "agent",
        "entity_id": entity_id,
        "entity_name": f"Agent {entity_id}",
        "logged_in": logged_in,
        "chatting": logged_in // 2,
        "states": json.dumps({"Online": logged_in - away, "Away": away}),
        "reasons": json.dumps({"Reason 7": away}),
    }
