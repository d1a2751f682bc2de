"""The digest_runs table: each scheduled time is claimed once, then finished."""

from __future__ import annotations

from sqlite_utils import Database

from bot.digests import queries as runs

# --- digest runs ------------------------------------------------------------------------------


def test_claim_run_claims_a_scheduled_time_once(fresh_db: Database) -> None:
    key = "2026-03-02T09:00 Europe/Berlin"
    first = runs.claim_run(fresh_db, "csat-daily", key, "C0123456789")
    assert isinstance(first, int)
    assert runs.claim_run(fresh_db, "csat-daily", key, "C0123456789") is None
    other = runs.claim_run(fresh_db, "availability-daily", key, "C0123456789")
    assert isinstance(other, int) and other != first
    (row,) = fresh_db.query("select * from digest_runs where id = ?", [first])
    started = row.pop("started_at")
    assert row == {
        "id": first, "digest": "csat-daily", "scheduled_for": key, "status": "running",
        "finished_at": None, "error": None, "channel": "C0123456789", "message_ts": None,
    }  # fmt: skip
    assert started.endswith("+00:00")


def test_finish_run_records_the_outcome(fresh_db: Database) -> None:
    posted = runs.claim_run(fresh_db, "csat-daily", "2026-03-02T09:00 Europe/Berlin", "C1")
    failed = runs.claim_run(fresh_db, "csat-daily", "2026-03-03T09:00 Europe/Berlin", "C1")
    assert posted is not None and failed is not None
    runs.finish_run(fresh_db, posted, "posted", message_ts="1700000000.000100")
    runs.finish_run(fresh_db, failed, "failed", error="LivePerson is unavailable")
    rows = {
        r["id"]: (r["status"], r["error"], r["message_ts"], bool(r["finished_at"]))
        for r in fresh_db.query("select * from digest_runs")
    }
    assert rows == {
        posted: ("posted", "", "1700000000.000100", True),
        failed: ("failed", "LivePerson is unavailable", "", True),
    }
