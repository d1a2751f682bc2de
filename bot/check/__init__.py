"""`python -m bot check`: every configuration, database and template problem, with file and line.

`serve` and `socket` run the same checks before they start (`startup_problems`) and refuse
to start on any: a digest that can never run, a template that cannot render, a database
that cannot be written would otherwise fail quietly at 9:00 with nobody watching.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from bot.check.samples import contexts
from bot.config import DEFAULT_TEMPLATES, AlertRules, Digest, Settings
from bot.db import Store, diagnose
from bot.directory import Directory
from bot.errors import BotError, RenderError
from bot.names import queries, report
from bot.render import Renderer
from bot.render.words import FILE as WORDS
from bot.schedule import shortest_gap
from bot.slackconfig import queries as slackconfig
from bot.slackconfig.catalog import Catalog, Entry, Problem
from bot.snapshots.queries import overlap_tolerance
from bot.sources import VENDOR_NAMES
from bot.timefmt import typed_duration

if TYPE_CHECKING:
    from sqlite_utils import Database


def check_templates(
    renderer: Renderer, extra: dict[str, str] | None = None, unknown_words: bool = True
) -> list[str]:
    """Render every template with every sample context; the problems found.

    `extra` names a deployment's own digest templates and the sample they render
    like (`digest_csat.yml.j2` or `digest_availability.yml.j2`).
    """
    problems = [
        f"{WORDS}: `{name}` is not a word the bot uses (misspelt?)"
        for name in (renderer.words.unknown() if unknown_words else [])
    ]
    samples = contexts()
    for name, like in (extra or {}).items():
        samples.setdefault(name, samples[like])
    for name in sorted(set(renderer.templates()) | set(samples)):
        for context in samples.get(name, [{}]):
            try:
                renderer.render(name, **context)
            except RenderError as exc:
                problems.append(str(exc))
                break
            except Exception as exc:  # a missing file, a filter that blew up
                problems.append(f"{name}: {type(exc).__name__}: {exc}")
                break
    return problems


def made_in_slack(settings: Settings) -> tuple[list[Entry], list[Problem]]:
    """The digests made in Slack's Home tab (stored in BOT_DB), and any that no longer
    reads; none when there is no database yet, or one from before the Home tab."""
    with _read_only(settings.db_path) as db:
        if db is None:
            return [], []
        try:
            entries, problems = Catalog(settings, None).read(db)
        except sqlite3.Error:  # a database from before the Home tab
            return [], []
    return [e for e in entries if e.origin == "slack"], problems


def slack_alerts(settings: Settings) -> AlertRules | None:
    """`[alerts]` in force with what the Home tab set; None without a readable database."""
    with _read_only(settings.db_path) as db:
        if db is None:
            return None
        try:
            return Catalog(settings, None).rules_with(slackconfig.alerts(db))
        except sqlite3.Error:
            return None


@contextmanager
def _read_only(path: str) -> Iterator[Database | None]:
    """BOT_DB opened to read only: neither migrated nor switched to WAL, so a new version's
    `check` leaves alone the database an older `serve` still runs on. None: no file."""
    if not os.path.exists(path):
        yield None
        return
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:  # `diagnose` says what is wrong with it
        yield None
        return
    from sqlite_utils import Database  # after bot.db, which loads it without numpy

    try:
        yield Database(conn)
    finally:
        conn.close()


def _placed(settings: Settings, slack: Sequence[Entry]) -> list[tuple[str, Digest]]:
    """The file's digests and those made in Slack, each with where a problem is said to be."""
    return [
        *((f"{settings.config_path}: digest[{i}] ({d.name})", d)
          for i, d in enumerate(settings.digests)),
        *((f"Slack: digest ({e.name})", e.digest) for e in slack),
    ]  # fmt: skip


def check_digests(settings: Settings, renderer: Renderer, slack: Sequence[Entry] = ()) -> list[str]:
    """Digests that could not run as configured: source, limits, Slack token; `slack`:
    those made in Slack, checked by the same rules."""
    if not settings.digests and not slack:
        return []
    from bot.app import build_sources  # the real rules of each source, no network

    store = Store(":memory:")  # the ingested source reads a store; nothing is written
    sources = build_sources(settings, store=store, status=False)
    problems = []
    placed = _placed(settings, [e for e in slack if not e.shadowed])
    try:
        for where, digest in placed:
            try:
                sources.resolve(digest.query())
            except BotError as exc:
                problems.append(f"{where}: {renderer.said(exc)}")
        if placed and not settings.slack.bot_token:
            problems.append("environment: SLACK_BOT_TOKEN: needed to post the configured digests")
    finally:
        asyncio.run(sources.aclose())
        store.close()
    return problems


def check_cadence(
    settings: Settings, now: datetime, slack: Sequence[Entry] = (),
    alerts: AlertRules | None = None,
) -> list[str]:  # fmt: skip
    """Digests and watches that run more often than their timeframe covers, while the drop
    alerts are on (a warning: they run, but their baselines fill slowly).

    The alerts pool only earlier snapshots whose windows do not overlap
    (`snapshots.queries.disjoint_runs`), so a watch every 15 minutes over 24 hours has one
    snapshot a day to compare with, and a baseline of 7 needs a week of history. Runs
    closer than their timeframe by no more than `overlap_tolerance` count as apart.
    """
    rules = alerts or settings.alerts  # with what the Home tab set, when it can be read
    if not rules.channel:
        return []
    runs = rules.baseline_runs
    found = []
    placed = _placed(settings, [e for e in slack if e.active])
    for where, digest in placed:
        timeframe = timedelta(minutes=digest.timeframe)
        gap = shortest_gap(digest.cron, digest.timezone, now)
        if gap is None and timeframe > timedelta(days=3):  # fewer than two runs a week
            within = min(2 * timeframe, timedelta(days=400))
            gap = shortest_gap(digest.cron, digest.timezone, now, within)
        if gap is None or timeframe - gap <= overlap_tolerance(timeframe):
            continue
        found.append(
            f"{where}: runs every {_spoken(gap, every=True)} over "
            f"{typed_duration(digest.timeframe)}: its alerts compare "
            "only with earlier snapshots that do not overlap, so a baseline of "
            f"{runs} snapshot{'s' * (runs != 1)} needs {_spoken(runs * timeframe)} of history"
        )
    return found


def check_history(settings: Settings, now: datetime) -> list[str]:
    """LivePerson digests over more than 24 hours whose window, and the period of the same
    length before it that they compare with, the history does not cover yet (a warning:
    they run, and say what they cover). From the last whole hour back, as a run would now."""
    if settings.liveperson is None:
        return []
    from bot.history import queries as history
    from bot.history.source import HistoryBacked

    configured = [n for n in ("liveperson", "livechat") if getattr(settings, n) is not None]
    default = settings.default_source or configured[0]
    long = [
        (i, d) for i, d in enumerate(settings.digests)
        if (d.source or default) == "liveperson" and HistoryBacked.from_history(d.query())
    ]  # fmt: skip
    if not long:
        return []
    firsts: dict[str, datetime | None] = {history.CSAT: None, history.STATES: None}
    if os.path.exists(settings.db_path):
        store = Store(settings.db_path, writable=False)
        try:
            firsts = {kind: store.sync(partial(history.first_hour, kind=kind)) for kind in firsts}
        finally:
            store.close()
    found = []
    end = now.replace(minute=0, second=0, microsecond=0)
    for i, digest in long:
        kind = history.CSAT if digest.kind == "csat" else history.STATES
        length = timedelta(minutes=digest.timeframe)
        reach = (end - length).replace(minute=0) - length
        first = firsts[kind]
        where = f"{settings.config_path}: digest[{i}] ({digest.name})"
        typed = typed_duration(digest.timeframe)
        span = f"its {typed} and the {typed} before"
        if first is None:
            found.append(
                f"{where}: {span} come from the history, and the bot has not collected "
                "LivePerson's history yet: run `python -m bot collect` once, then `serve` or "
                "`socket` collects every hour; until then the digest covers nothing"
            )
        elif first > reach:
            local = first.astimezone(settings.timezone).strftime("%Y-%m-%d %H:%M")
            found.append(
                f"{where}: {span} reach back to "
                f"{reach.astimezone(settings.timezone):%Y-%m-%d %H:%M}, but the bot has "
                f"collected LivePerson's history only since {local} ({settings.timezone.key}): "
                "until it has, the digest says what part its history covers"
            )
    return found


def _spoken(length: timedelta, every: bool = False) -> str:
    """15 minutes, 2 hours, 7 days: in the largest unit that counts it whole."""
    minutes = int(length.total_seconds() // 60)
    units = ((1440, "day"), (60, "hour"))
    size, unit = next(((s, u) for s, u in units if minutes % s == 0), (1, "minute"))
    count = minutes // size
    if count == 1:
        return unit if every else f"1 {unit}"
    return f"{count} {unit}s"


def check_directories(settings: Settings) -> list[str]:
    """What each source's directory names, as the bot last read it, and what a refusal
    needs granted (a warning: answers keep working with ids)."""
    fetched = [n for n in ("liveperson", "livechat") if getattr(settings, n) is not None]
    configured = fetched + (["ingested"] if settings.ingest_token else [])
    if not configured:
        return []
    if not os.path.exists(settings.db_path):  # nothing read yet; check creates nothing
        return [
            f"directory warning: {p}"
            for s in fetched
            for p in report.problems(s, VENDOR_NAMES[s], [], True)
        ]
    store = Store(settings.db_path, writable=False)
    found = []
    try:
        for source in configured:
            states = store.sync(partial(queries.states, source=source))
            entries = store.sync(partial(queries.load, source=source))
            directory = Directory.of(entries, (), settings.names.by_kind())
            found.append(f"directory: {report.summary(source, directory, states)}")
            problems = report.problems(source, VENDOR_NAMES[source], states, source in fetched)
            found += [f"directory warning: {p}" for p in problems]
    finally:
        store.close()
    return found


def startup_problems(settings: Settings) -> list[str]:
    """What `check` would refuse, one line each, for `serve` and `socket` before they start.

    The built-in templates are proven by the test suite; they are rendered again only when
    the deployment has a templates folder of its own (which is what can break at start).
    """
    found = [f"database error: {problem}"] if (problem := diagnose(settings.db_path)) else []
    renderer = Renderer(settings.templates, settings.timezone)
    own_folder = renderer.folder != DEFAULT_TEMPLATES
    if own_folder:  # read now: a deployment's words.yml that is not YAML stops a start
        try:
            _ = renderer.words
        except RenderError as exc:
            return [*found, f"template error: {exc}"]
    found += [f"digest error: {p}" for p in check_digests(settings, renderer)]
    if own_folder:
        custom = {d.template_file: f"digest_{d.kind}.yml.j2" for d in settings.digests}
        # a word a newer version no longer uses is for `check` to mention, not to stop a start
        found += [
            f"template error: {p}" for p in check_templates(renderer, custom, unknown_words=False)
        ]
    return found


def run_check(settings: Settings, online: bool = False) -> int:
    """Print what is set up and every problem; 1 when any is an error. `online` also asks
    Slack and the vendors (`check/online.py`) about the file's digests."""
    where = (
        settings.config_path
        if settings.config_found
        else f"{settings.config_path} (absent: defaults)"
    )
    print(f"configuration: {where}: ok")
    sources = [n for n in ("liveperson", "livechat") if getattr(settings, n) is not None]
    sources += ["ingested"] if settings.ingest_token else []
    print(f"sources: {', '.join(sources) or 'none configured'}")
    database = diagnose(settings.db_path)
    slack, unreadable = made_in_slack(settings) if not database else ([], [])
    print(f"digests: {', '.join(d.name for d in settings.digests) or 'none'}"
          + (f"; made in Slack: {', '.join(e.name for e in slack)}" if slack else ""))  # fmt: skip
    for entry in slack:
        if entry.shadowed:
            print(f"digest warning: Slack: digest ({entry.name}): bot.toml has a digest of the "
                  "same name, which runs instead; delete this one in the Home tab")  # fmt: skip
    if (settings.digests or slack) and not settings.alerts.channel:
        print("note: no [alerts] channel in bot.toml: drop alerts are off unless one is set "
              "in the Home tab")  # fmt: skip
    print(f"database error: {database}" if database else f"database: {settings.db_path}: ok")
    renderer = Renderer(settings.templates, settings.timezone)
    try:
        _ = renderer.words  # read now: a deployment's words.yml that is not YAML
    except RenderError as exc:
        print(f"template error: {exc}")
        return 1
    problems = check_digests(settings, renderer, slack)
    problems += [f"Slack: digest ({p.name}) no longer reads: {p.reason}" for p in unreadable]
    for problem in problems:
        print(f"digest error: {problem}")
    in_force = slack_alerts(settings) if not database else None
    for warning in check_cadence(settings, datetime.now(UTC), slack, in_force):
        print(f"digest warning: {warning}")
    if not database:
        for warning in check_history(settings, datetime.now(UTC)):
            print(f"digest warning: {warning}")
        for line in check_directories(settings):
            print(line)
    custom = {d.template_file: f"digest_{d.kind}.yml.j2" for d in settings.digests}
    template_problems = check_templates(renderer, custom)
    for problem in template_problems:
        print(f"template error: {problem}")
    if renderer.folder != DEFAULT_TEMPLATES:
        replaced = [name for name in renderer.overridden() if name != WORDS]
        own = sorted(set(renderer.templates()) - set(Renderer().templates()))
        words = WORDS in renderer.overridden()
        print(f"templates: {settings.templates} overrides {', '.join(replaced) or 'no template'}"
              + (f"; its own: {', '.join(own)}" if own else "")
              + (f"; its {WORDS} changes some words" if words else "")
              + "; everything else is built in")  # fmt: skip
    if not template_problems:
        print(
            f"templates: {settings.templates}: "
            f"{len(renderer.templates())} rendered, all valid Block Kit"
        )
    online_errors = False
    if online:
        from bot.check.online import check_online

        every = [*settings.digests, *(e.digest for e in slack if e.active)]
        for finding in asyncio.run(check_online(settings, every, renderer, in_force)):
            print(finding.line)
            online_errors = online_errors or finding.level == "error"
    return 1 if database or problems or template_problems or online_errors else 0
