"""The digest_runs table: each scheduled time is claimed once, then finished; what was shown."""

from __future__ import annotations

from sqlite_utils import Database

from bot.digests import queries as runs
from bot.snapshots import queries as snapshots
from tests.snapshots.sample import run_for

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
        "snapshot_run_id": None,
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


def shown(db: Database, day: int, status: str, taken: str | None = None) -> int:
    """A run of csat-daily on March `day` that stored a snapshot and ended as `status`."""
    run = runs.claim_run(db, "csat-daily", f"2026-03-{day:02d}T09:00 Europe/Berlin", "C1")
    assert run is not None
    snapshot = snapshots.save_snapshot(
        db, run_for(taken or f"2026-03-{day:02d}T08:00:00+00:00"), []
    )
    runs.record_snapshot(db, run, snapshot)
    runs.finish_run(db, run, status)
    return snapshot


def test_last_shown_is_the_snapshot_of_the_latest_posted_run(fresh_db: Database) -> None:
    assert runs.last_shown(fresh_db, "csat-daily") is None
    monday = shown(fresh_db, 2, "posted")
    assert runs.last_shown(fresh_db, "csat-daily") == {
        "id": monday,
        **run_for("2026-03-02T08:00:00+00:00"),
    }
    shown(fresh_db, 3, "failed")  # Slack refused it: nobody saw Tuesday's numbers
    shown(fresh_db, 4, "running")  # still posting, or died while posting
    assert runs.last_shown(fresh_db, "csat-daily")["id"] == monday  # type: ignore[index]
    thursday = shown(fresh_db, 5, "posted")
    shown(fresh_db, 1, "posted")  # an older time, caught up late: still not the latest seen
    assert runs.last_shown(fresh_db, "csat-daily")["id"] == thursday  # type: ignore[index]
    assert runs.last_shown(fresh_db, "other-digest") is None


def test_a_failed_run_claimed_again_shows_its_new_snapshot(fresh_db: Database) -> None:
    key = "2026-03-02T09:00 Europe/Berlin"
    run = runs.claim_run(fresh_db, "csat-daily", key, "C1")
    assert run is not None
    first = snapshots.save_snapshot(fresh_db, run_for("2026-03-02T08:00:00+00:00"), [])
    runs.record_snapshot(fresh_db, run, first)
    runs.finish_run(fresh_db, run, "failed", error="not_in_channel")
    assert runs.claim_run(fresh_db, "csat-daily", key, "C1") == run
    second = snapshots.save_snapshot(fresh_db, run_for("2026-03-02T08:10:00+00:00"), [])
    runs.record_snapshot(fresh_db, run, second)
    runs.finish_run(fresh_db, run, "posted", message_ts="1.2")
    assert runs.last_shown(fresh_db, "csat-daily")["id"] == second  # type: ignore[index]
