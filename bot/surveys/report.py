"""`python -m bot outbox`: what MaestroQA has, is getting, or refused, for operators."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

from bot.config import Settings
from bot.db import Store, diagnose
from bot.surveys.queries import (
    STATUSES,
    changed_after_sending,
    counts,
    delayed,
    failures,
    retry_failed,
)


def run_outbox(settings: Settings, retry: bool = False, now: float | None = None) -> int:
    """Print counts by status, waiting rows and refused responses with their reasons."""
    if not os.path.exists(settings.db_path):
        if problem := diagnose(settings.db_path):  # a folder that is not there, say
            raise problem
        print(f"outbox: no database at {settings.db_path}: nothing ingested yet")
        return 0
    store = Store(settings.db_path, writable=retry)  # the report only reads
    try:
        if retry:
            queued = store.sync(lambda db: retry_failed(db, now or datetime.now(UTC).timestamp()))
            print(f"queued {queued} refused responses again")
        found = store.sync(counts)
        late = store.sync(delayed)
        refused = store.sync(failures)
        changed = store.sync(changed_after_sending)
    finally:
        store.close()
    target = settings.maestroqa_url if settings.maestroqa_token else "not configured"
    print(f"outbox: {settings.db_path} → MaestroQA ({target})")
    print("  " + "  ".join(f"{status} {found[status]}" for status in STATUSES))
    if changed:
        print(f"  {changed} sent responses were corrected later; MaestroQA has the earlier version")
    for row in late:
        print(f"  waiting: ticket {row['ticket_id']} (try {row['attempts']}, next at "
              f"{row['next_attempt_at']}): {row['last_error']}")  # fmt: skip
    if refused:
        print(f"refused by MaestroQA ({len(refused)} shown; `python -m bot outbox --retry-failed` "
              "queues them again):")  # fmt: skip
    for row in refused:
        print(f"  ticket {row['ticket_id']} submitted {row['submitted_at']} agent {row['agent']}: "
              f"{row['last_error']}")  # fmt: skip
    sys.stdout.flush()
    return 0
