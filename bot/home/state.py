"""What the home view shows, as plain data: gathered from the store and the schedule
(`Home.state`), rendered by `home.yml.j2` (`view.py`). Nothing here talks to Slack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SourceLine:
    """A configured source and whether it answers."""

    name: str  # "liveperson", "livechat", "ingested"
    default: bool  # the source a command without one asks
    last_ok: datetime | None  # its last answer, None: none seen yet
    last_error_at: datetime | None
    last_error: str  # the last failure in words, "" when none


@dataclass(frozen=True)
class DigestLine:
    """One digest or watch, from the file or from Slack."""

    name: str
    kind: str  # "csat" or "availability"
    source: str  # the source it asks ("" for the default one)
    unit: str  # "skill", "agent", "group" or "account"
    ids: tuple[str, ...] | str | None  # the ids, "all", or None (the account)
    channel: str  # a channel id
    cron: str
    schedule: str  # in words: "weekdays at 09:00 (Europe/Berlin)"
    timeframe: str  # as typed: "24h", "7d"
    post: bool  # False: a watch (snapshots and alerts, no message)
    origin: str  # "file" (read-only) or "slack"
    paused: bool
    next_run: datetime | None  # None when paused
    last_run: datetime | None  # when the last run started
    last_status: str  # "posted", "stored", "skipped", "failed", "running", "" (never ran)
    last_error: str  # why the last run failed, in words
    last_ts: str  # the last posted message's ts, "" when none
    changed_by: str  # who last changed it in Slack (a user id), "" for the file's


@dataclass(frozen=True)
class AlertLine:
    """An open alert."""

    id: int
    headline: str  # what dropped, in words ("CSAT of Billing dropped 12 pts")
    entity: str  # "skill 4"
    state: str  # "firing", "acknowledged" or "snoozed"
    owner: str  # the user id who acknowledged it, "" when nobody
    opened_at: datetime
    channel: str  # where its thread is
    ts: str  # its top message, "" when never posted


@dataclass(frozen=True)
class AuditLine:
    """One change made from Slack (or refused)."""

    at: datetime
    user: str  # a user id
    action: str  # "add", "edit", "pause", "resume", "delete", "send", "preview", "alerts",
    # "refused"
    target: str  # the digest's name, or "alerts"
    detail: str  # what changed, in words


@dataclass(frozen=True)
class AlertSettings:
    """`[alerts]` as it is in force, and which of its keys the file sets (read-only)."""

    channel: str | None
    mention: str
    min_answers: int
    drop_points: float
    in_file: frozenset[str]


@dataclass(frozen=True)
class HomeState:
    """Everything one person's home view shows."""

    user: str
    admin: bool  # shows the buttons that change things
    now: datetime
    config_file: str  # "bot.toml": what file digests say they come from
    sources: tuple[SourceLine, ...]
    digests: tuple[DigestLine, ...]
    alerts: tuple[AlertLine, ...]
    history: tuple[AuditLine, ...]  # newest first
    alert_settings: AlertSettings
    workspace_url: str = ""  # "https://acme.slack.com/": links to threads; "" without
