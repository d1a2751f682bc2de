"""Alert lifecycle: one thread per problem in the alerts channel, for the team leads.

A problem is (source, kind, entity, metric). The first credible drop opens a top-level
message that calls in the configured team leads; while it persists, updates go into its
thread without pinging anyone; when it recovers the thread says so and the top message
is updated to show it resolved. The clicks (Acknowledge, Resolve, Snooze, Unsnooze;
buttons in `listeners/actions.py`, what each does in `ownership.py`) are kept as events
and told in the thread, and the top message is redrawn with its headline, owner and
state. Decisions are `decide.judge`; this module only acts on them.

A review decides and records, then posts in the background: the `alerts` table says what
happened before Slack hears of it, so the next review never decides the same thing twice,
and the digest that asked is not held while dozens of alerts go out at Slack's pace
(`slack.Poster`: one message a second per channel). Each alert's posts are one task, after
the alert's earlier task; `drain()` waits for them at shutdown.

A new alert is stored without `ts`; `ts` is stored the moment Slack answers with it. A
firing alert without `ts` that no task of this process is posting never went out (a
restart, a Slack that refused, a shutdown that could not wait): the next review posts it,
calling the team leads then, if the drop persists, and closes it without a word if it
has recovered. So an alert is never lost; it is posted twice only if the process dies
in the instant between Slack's answer and storing its `ts`, or Slack took a message it
timed out on. Updates in a thread are told once: recorded first, a failed one is logged.
Nothing is ever posted outside its thread: an update, a click or a chart waits for the
top message's `ts`, and without one it is not posted at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup
from sqlite_utils import Database

from bot.alerts import ownership
from bot.alerts.decide import Action, Verdict, judge
from bot.alerts.detect import Evaluation
from bot.alerts.ownership import Click
from bot.alerts.queries import (
    alerts_by_id,
    event_told,
    get_alert,
    insert_alert,
    insert_event,
    latest_alerts,
    newest_of,
    posted,
    update_alert,
)
from bot.config import AlertRules, Rule
from bot.db import Store, writing
from bot.errors import ActionError, BotError, SlackError
from bot.metrics import member, membership, wilson
from bot.offloop import off_loop
from bot.render import Renderer
from bot.slack import Poster
from bot.snapshots import queries as snapshots
from bot.snapshots.rows import TOTAL, away_share
from bot.timefmt import now_iso

log = logging.getLogger(__name__)
Known = dict[str, dict[str, Any]]  # the latest alert of each problem, by problem key


@dataclass(frozen=True)
class Post:
    """What one background task tells Slack about one alert, as recorded before it starts."""

    problem: str
    opens: bool  # a top message calling in the leads, then the why in its thread
    alert: dict[str, Any]  # the row as recorded
    evaluation: Evaluation
    action: Action
    why: str
    redraw: bool = False  # the top message still shows a snooze that has ended


class Alerting:
    """Reviews every snapshot a digest takes and keeps one thread per problem."""

    def __init__(
        self,
        rules: AlertRules,
        store_: Store,
        poster: Poster | None,
        renderer: Renderer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        current: Callable[[], Awaitable[AlertRules]] | None = None,
    ) -> None:
        self.rules = rules
        self.current = current  # the rules in force now (`[alerts]` set in Slack too)
        self.store = store_
        self.poster = poster
        self.renderer = renderer
        self.clock = clock
        self._reviewing = asyncio.Lock()  # one review decides at a time: no problem opened twice
        self._tasks: set[asyncio.Task[str | None]] = set()  # kept here until done
        self._latest: dict[int, asyncio.Task[str | None]] = {}  # alert id -> its newest task
        self._unrecorded: dict[int, str] = {}  # alert id -> ts Slack gave but the store refused

    def rule(self, entity_kind: str, entity_id: str) -> Rule:
        return self.rules.rule_for(entity_kind, entity_id)

    async def review(
        self,
        series: str,
        source: str,
        kind: str,
        run_id: int,
        rows: list[dict[str, Any]],
        digest: str,
        told_for: str | None = None,
    ) -> list[tuple[Action, Evaluation]]:
        """Evaluate a stored snapshot against its history, record what to do, start posting.

        Returns once the decisions are stored, with the action on each problem that fires
        or has an alert open (`none` where it is folded into its parent's); the posts go
        out in the background. `told_for` is the scheduled time the review speaks for:
        a problem's thread hears once per scheduled time, whichever digest saw it first.
        """
        if self.current is not None:  # a change made in Slack a second ago counts
            try:
                self.rules = await self.current()
            except Exception:  # the store: the rules last read still hold
                log.exception("alerts: the settings made in Slack could not be read")
        channel, rules = self.rules.channel, self.rules
        if not channel or self.poster is None:
            return []
        limits = {key: rule.baseline_runs for key, rule in rules.thresholds.items()}

        def read(
            db: Database,
        ) -> tuple[dict[tuple[str, str], snapshots.Past], Known, tuple[Any, Any]]:
            past = snapshots.series_past(
                db, series, run_id, rules.baseline_runs, rules.rule.baseline_runs, limits
            )
            window = db.execute(
                "select window_start, window_end from snapshot_runs where id = ?", [run_id]
            ).fetchone()
            return past, latest_alerts(db, source, kind), tuple(window or (None, None))

        async with self._reviewing:
            past, known, (start, end) = await self.store(read)
            now = self.clock()
            verdicts = await off_loop(judge, rows, past, known, source, kind, rules, now, told_for)
            del past, known
            opened = {"series": series, "window_start": start, "window_end": end,
                      "told_for": told_for}  # fmt: skip
            todo = [v for v in verdicts if v.action != Action.NONE]
            busy, unrecorded = frozenset(self._latest), dict(self._unrecorded)
            posts: list[Post] = []
            changed: dict[str, Action] = {}
            if todo or unrecorded:  # most reviews of a calm day write nothing
                posts, changed = await self.store(
                    lambda db: _record(
                        db, todo, busy, unrecorded, (source, kind, channel), now, opened
                    )
                )
            for alert_id in unrecorded:
                self._unrecorded.pop(alert_id, None)
            for post in posts:
                self._start(post, digest)
        return [(changed.get(v.problem, v.action), v.evaluation) for v in verdicts]

    @property
    def posting(self) -> int:
        """Alert tasks not finished yet."""
        return len(self._tasks)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for every alert being posted (each Slack call has its own deadline).

        After `timeout` seconds the rest is cancelled: an alert whose top message had not
        gone out is posted by the next review if the drop persists.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._tasks:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                break
            await asyncio.wait(set(self._tasks), timeout=left)
        if self._tasks:
            log.warning("alerts: %d still being posted after %g s; stopped", len(self._tasks),
                        timeout)  # fmt: skip
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start(self, post: Post, digest: str) -> None:
        alert_id = post.alert["id"]
        after = self._latest.get(alert_id)  # the alert's posts stay in order
        job = self._open(post, digest, after) if post.opens else self._follow(post, digest, after)
        task = asyncio.get_running_loop().create_task(job, name=f"alert {alert_id}")
        self._tasks.add(task)
        self._latest[alert_id] = task
        task.add_done_callback(functools.partial(self._finished, alert_id))

    def _finished(self, alert_id: int, task: asyncio.Task[str | None]) -> None:
        self._tasks.discard(task)
        if self._latest.get(alert_id) is task:
            del self._latest[alert_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("alert %d: posting failed", alert_id, exc_info=task.exception())

    async def _open(
        self, post: Post, digest: str, after: asyncio.Task[str | None] | None
    ) -> str | None:
        """The top message (it calls in the leads), its `ts` stored, then why in its thread."""
        assert self.poster is not None
        if after is not None:
            await after
        alert, ev = post.alert, post.evaluation
        channel = alert.get("channel") or self.rules.channel or ""
        try:
            top = self._top(alert, fresh=True)
            ts = await self.poster.post(channel, top)
        except Exception as exc:
            _failed(post, "its message", exc, "the next review posts it if the drop persists")
            return None
        try:  # shielded: a shutdown that stops this task still lets the write land
            await asyncio.shield(self.store(lambda db: update_alert(db, alert["id"], {"ts": ts})))
        except Exception as exc:
            self._unrecorded[alert["id"]] = ts  # the next review stores it: never posted twice
            _failed(post, f"storing ts {ts}", exc, "the next review stores it")
        alert = {**alert, "ts": ts}
        try:
            detail = self.renderer.render(
                "alert_update.yml.j2",
                alert=alert,
                evaluation=ev,
                action="open",
                why=post.why,
                digest=digest,
                min_answers=self.rule(ev.entity_kind, ev.entity_id).min_answers,
            )
            await self.poster.post(channel, detail, thread_ts=ts)
        except Exception as exc:
            _failed(post, "the why in its thread", exc, "the top message says it")
        try:
            await self._chart(alert, ts)
        except Exception as exc:
            _failed(post, "its chart", exc, "the thread has the numbers")
        return ts

    async def _follow(
        self, post: Post, digest: str, after: asyncio.Task[str | None] | None
    ) -> str | None:
        """An update in the alert's thread; a resolved alert's top message redrawn."""
        assert self.poster is not None
        ts: str | None = post.alert.get("ts")
        if after is not None:
            ts = await after or ts
        if not ts:
            log.warning("alert %s: its message never went out, so this %s is not posted; the "
                        "next review posts the alert if the drop persists", post.problem,
                        post.action)  # fmt: skip
            return None
        alert, ev = {**post.alert, "ts": ts}, post.evaluation
        try:
            update = self.renderer.render(
                "alert_update.yml.j2",
                alert=alert,
                evaluation=post.evaluation,
                action=str(post.action),
                why=post.why,
                digest=digest,
                min_answers=self.rule(ev.entity_kind, ev.entity_id).min_answers,
            )
            await self.poster.post(alert["channel"], update, thread_ts=ts)
        except Exception as exc:
            _failed(post, f"the {post.action} in its thread", exc, "it is recorded")
        if post.action == Action.RESOLVE or post.redraw:
            try:
                await self._refresh(alert)
            except Exception as exc:
                _failed(post, "marking its message resolved", exc, "it is recorded")
        if post.action == Action.RESOLVE:
            try:
                await self._chart(alert, ts)
            except Exception as exc:
                _failed(post, "its chart", exc, "the thread has the numbers")
        return ts

    async def _chart(self, alert: dict[str, Any], ts: str) -> None:
        """The metric over the series' recent snapshots, into the thread: the entity that
        moved most (the headline's) and the alert's own, each with its 95 % band (CSAT),
        the level before the alert dashed, the alert's time shaded. Drawn off the loop."""
        assert self.poster is not None
        series = alert.get("series")
        if not series:  # an alert stored before it kept its series
            return
        headline = alert.get("headline") or {}
        shown = [(alert["entity_kind"], alert["entity_id"], alert.get("entity_name"))]
        top = (headline.get("entity_kind"), headline.get("entity_id"))
        if top[0] and top != shown[0][:2]:
            key = _row_key(alert, top[0], str(top[1]))
            shown.insert(0, (*key, headline.get("entity_name")))

        def read(db: Database) -> list[list[dict[str, Any]]]:
            return [snapshots.trend(db, series, kind, id, 30) for kind, id, _ in shown]

        histories = await self.store(read)
        if sum(len(h) for h in histories) < 2:
            return
        words, metric = self.renderer.words, alert["metric"]
        source = alert.get("source")

        def lookup(kind: str, id: str) -> str | None:
            return self.renderer.names(kind, id, source)

        lines: dict[str, list[tuple[datetime, float | None, float | None, float | None]]] = {}

        def label(kind: str, id: str, name: str | None) -> str:
            within = membership(kind, id)
            if within is not None:  # an agent within a skill is shown as the agent
                kind, id = "agent", within[2]
            return words.entity(kind, id, name, lookup)

        for (kind, id, name), history in zip(shown, histories, strict=True):
            lines[label(kind, id, name)] = [_point(metric, row) for row in history]
        start = alert.get("window_start") or alert["opened_at"]
        end = alert.get("resolved_at") or alert.get("window_end") or alert["opened_at"]
        entity = label(*shown[0])
        name = words(f"charts.metrics.{_WORD[metric]}")
        charts = await asyncio.to_thread(importlib.import_module, "bot.render.charts")
        png = await asyncio.to_thread(
            charts.metric_chart,
            words("charts.alert_title", metric=name, entity=entity),
            lines,
            "seconds" if metric == "logged_in" else "share",
            words(f"charts.{_WORD[metric]}_axis"),
            alert.get("opened_against"),
            words("charts.before_label"),
            (datetime.fromisoformat(start), datetime.fromisoformat(end)),
            words("charts.window_label"),
            self.renderer.timezone,
        )
        await self.poster.upload(
            alert["channel"], ts, f"alert-{alert['id']}.png", png,
            words("files.alert", metric=name),
        )  # fmt: skip

    def _top(self, row: dict[str, Any], fresh: bool = False) -> Any:
        """The top message: headline first, then the owner and state, then the buttons."""
        return self.renderer.render(
            "alert.yml.j2",
            alert=row,
            state=ownership.state(row, self.clock()),
            mention=Markup(self.rules.mention),  # configured: it may ping
            fresh=fresh,  # only the first post calls the leads in
        )

    async def _refresh(self, row: dict[str, Any]) -> None:
        """Re-render the top message (resolved, acknowledged, snoozed); no one is pinged."""
        assert self.poster is not None
        await self.poster.update(row["channel"], row["ts"], self._top(row))

    # --- the buttons ------------------------------------------------------------------

    async def act(
        self,
        alert_id: int,
        user: str,
        click: Click,
        *,
        until: datetime | None = None,
        note: str = "",
        name: str = "",
    ) -> dict[str, Any]:
        """One click: checked and kept (the alert's change and its event in one
        transaction), then the top message redrawn and the click told in the thread.

        A click that changes nothing (`ownership.apply` refuses it: a resolved or
        replaced alert, a snooze in the past) raises its `ActionError` for the clicker;
        a stale message is redrawn as the alert stands, so its buttons go. A Slack that
        refuses the redraw or the thread post raises `SlackError` after both were tried.
        """
        now = self.clock()

        def change(
            db: Database,
        ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, ActionError | None]:
            with writing(db):
                row = get_alert(db, alert_id)
                if row is None:
                    return None, None, ActionError("no_alert", alert_id=alert_id)
                latest = newest_of(db, row["problem"])
                try:
                    made = ownership.apply(
                        row, click, user, now, latest_id=latest, until=until, note=note,
                        name=name,
                    )  # fmt: skip
                except ActionError as refused:
                    return row, None, refused
                update_alert(db, alert_id, made.alert)
                event = {**made.event, "id": insert_event(db, made.event)}
                return {**row, **made.alert}, event, None

        row, event, refused = await self.store(change)
        if refused is not None:
            if row is not None and row.get("ts") and self.poster is not None:
                with contextlib.suppress(BotError):  # the refusal is what the clicker hears
                    await self._refresh(row)
            raise refused
        assert row is not None and event is not None
        if self.poster is None or not row.get("ts"):
            return row
        failed: SlackError | None = None
        try:
            await self._refresh(row)
        except SlackError as exc:
            failed = exc
        try:  # told in the thread, never outside it: the row has its ts
            told = self.renderer.render("alert_event.yml.j2", alert=row, event=event)
            ts = await self.poster.post(row["channel"], told, thread_ts=row["ts"])
            await self.store(lambda db: event_told(db, event["id"], ts))
        except SlackError as exc:
            failed = failed or exc
        if failed is not None:
            raise failed
        return row


_WORD = {"csat": "csat", "logged_in": "logged_in", "away_share": "away"}


def _row_key(alert: dict[str, Any], kind: str, id: str) -> tuple[str, str]:
    """The snapshot row of a part: an agent of a skill's alert is that skill's agent."""
    if kind == "agent" and alert["entity_kind"] not in (TOTAL, "agent"):
        return member(alert["entity_kind"], alert["entity_id"], id)
    return kind, id


def _point(
    metric: str, row: dict[str, Any]
) -> tuple[datetime, float | None, float | None, float | None]:
    """One snapshot on the chart: when its window ended, the value and its band."""
    when = datetime.fromisoformat(row.get("window_end") or row["taken_at"])
    if metric == "csat":
        positive, answers = int(row.get("positive") or 0), int(row.get("answers") or 0)
        if not answers:
            return when, None, None, None
        low, high = wilson(positive, answers)
        return when, positive / answers, low, high
    if metric == "logged_in":
        return when, float(row.get("logged_in") or 0), None, None
    return when, away_share(row), None, None


def _failed(post: Post, what: str, exc: Exception, then: str) -> None:
    """One log line for a post that did not go out; a traceback only for the unexpected."""
    if isinstance(exc, BotError):
        log.error("alert %s: %s failed (%s); %s", post.problem, what, exc, then)
    else:
        log.exception("alert %s: %s failed; %s", post.problem, what, then)


def _record(
    db: Database,
    verdicts: list[Verdict],
    busy: Collection[int],
    unrecorded: Mapping[int, str],
    where: tuple[str, str, str],
    now: datetime,
    opened: Mapping[str, Any] | None = None,
) -> tuple[list[Post], dict[str, Action]]:
    """Store every decision of a review in one transaction; what to post, and changed actions.

    `where` is the review's source, kind and channel; `opened` the snapshot's series and
    window and the scheduled time the review speaks for (`told_for`). `busy` are the
    alerts a task of this process is still posting; `unrecorded` the `ts` of top messages
    the store refused then. An alert with neither and no `ts` stored (read again here: a
    task may have stored it since the review read it) never went out.
    """
    posts: list[Post] = []
    changed: dict[str, Action] = {}
    when = now_iso(now)
    opened = dict(opened or {})
    spoke = {"told_for": opened["told_for"]} if opened.get("told_for") else {}
    with writing(db):
        for alert_id, ts in unrecorded.items():
            update_alert(db, alert_id, {"ts": ts})
        unsure = [
            v.alert["id"] for v in verdicts
            if v.alert is not None and not v.alert.get("ts") and v.alert["id"] not in busy
        ]  # fmt: skip
        shown: dict[int, str] = dict(unrecorded)
        if unsure:
            shown |= posted(db, unsure)
        # a click (in another process) may have changed an alert since the review read it
        fresh = {row["id"]: row for row in alerts_by_id(db, [v.alert["id"] for v in verdicts
                                                              if v.alert is not None])}  # fmt: skip
        for v in verdicts:
            ev, row = v.evaluation, v.alert
            if row is not None and row["id"] in fresh:
                v, row = _since(v, fresh[row["id"]], now), fresh[row["id"]]
                if v.action == Action.NONE:
                    changed[v.problem] = Action.NONE
                    continue
            latest = {"last_drop": ev.drop, "last_reason": ev.reason}
            if v.action == Action.OPEN:
                alert = _new_alert(v, *where, when) | opened
                alert["id"] = insert_alert(db, alert)
                posts.append(Post(v.problem, True, alert, ev, v.action, v.why))
                continue
            if row is None or v.action == Action.NONE:
                continue
            row = {**row, "ts": row.get("ts") or shown.get(row["id"])}
            if v.action == Action.SILENT:
                update_alert(db, row["id"], latest)
                changed[v.problem] = Action.SILENT
            elif row["ts"] or row["id"] in busy:  # told in its thread (after its open)
                changes = latest | spoke | {"updates": (row.get("updates") or 0) + 1}
                if v.action == Action.RESOLVE:
                    changes |= {"status": "resolved", "resolved_at": when}
                ended = bool(row.get("snoozed_until")) and not ownership.snoozed(row, now)
                if ended:  # the top message still says snoozed: cleared, and redrawn
                    changes |= {"snoozed_until": None, "snoozed_by": None}
                update_alert(db, row["id"], changes)
                posts.append(Post(v.problem, False, row | changes, ev, v.action, v.why, ended))
            elif v.action == Action.RESOLVE:  # recovered before anyone saw it: closed quietly
                update_alert(db, row["id"], latest | {"status": "resolved", "resolved_at": when})
                log.info("alert %s: its message never went out; recovered, closed", v.problem)
            elif v.folded:  # its parent's thread tells it now
                update_alert(db, row["id"], latest)
                changed[v.problem] = Action.SILENT
            else:  # still firing: post it now
                latest |= spoke
                update_alert(db, row["id"], latest)
                why = "its message had not gone out"
                posts.append(Post(v.problem, True, row | latest, ev, Action.OPEN, why))
                changed[v.problem] = Action.OPEN
                log.info("alert %s: its message never went out; posting it now", v.problem)
    return posts, changed


def _since(v: Verdict, row: dict[str, Any], now: datetime) -> Verdict:
    """A verdict held to its alert as it stands now: one resolved by hand meanwhile gets
    nothing more (a persisting drop opens a new alert at the next review); one snoozed
    meanwhile is only recorded."""
    if v.alert is None:
        return v
    if row["status"] != v.alert["status"]:
        log.info("alert %s: changed by a click during the review; left as it is", v.problem)
        return replace(v, action=Action.NONE, why="changed by a click during the review")
    if v.action in (Action.THREAD, Action.WORSE) and ownership.snoozed(row, now):
        return replace(v, action=Action.SILENT, why="snoozed during the review")
    return v


def _new_alert(v: Verdict, source: str, kind: str, channel: str, when: str) -> dict[str, Any]:
    ev = v.evaluation
    return {
        "problem": v.problem,
        "source": source,
        "kind": kind,
        "entity_kind": ev.entity_kind,
        "entity_id": ev.entity_id,
        "entity_name": ev.name,
        "metric": str(ev.metric),
        "status": "firing",
        "opened_at": when,
        "channel": channel,
        "opened_drop": ev.drop,
        "opened_against": ev.against,
        "last_drop": ev.drop,
        "last_reason": ev.reason,
        "updates": 0,
        "headline": dict(v.headline or {}),
        "parts": dict(v.levels or {}),
    }
