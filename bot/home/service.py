"""`Home`: the App Home tab and what its buttons and modals do.

Listeners stay thin (`listeners/home.py`): they ack and hand the work here. Reading the
state for a view is a handful of queries on the store's thread; a change is validated by
the file's own rules (`home/modals.py` → `config.read_digest`), stored with its audit row
(`slackconfig/queries.py`), then the scheduler moves its jobs (`DigestScheduler.refresh`)
and the views of everyone who looked lately are published again. Only admins
(`home/admins.py`) change anything; anyone else's crafted submission is refused, logged
and audited, and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import ownership
from bot.alerts.queries import open_alerts
from bot.config import Settings
from bot.db import Store, reading
from bot.digests.queries import latest_runs
from bot.digests.run import Outcome
from bot.home import modals
from bot.home.admins import Admins
from bot.home.state import (
    AlertLine,
    AlertSettings,
    AuditLine,
    DigestLine,
    HomeState,
    SourceLine,
)
from bot.home.view import home_view
from bot.names.service import Names
from bot.offloop import off_loop
from bot.render import Message, Renderer
from bot.schedule import describe, next_fires
from bot.slack import Poster
from bot.slackconfig import queries
from bot.slackconfig.catalog import Catalog, Entry
from bot.sources import Sources
from bot.sources.status import read_status
from bot.timefmt import typed_duration

if TYPE_CHECKING:  # APScheduler loads only where the scheduler runs
    from bot.digests.scheduler import DigestScheduler

log = logging.getLogger(__name__)
VIEWERS = 50  # people whose home view is published again after a change
VIEWERS_FOR_SECONDS = 3600.0  # ... when they opened it within this long
PUBLISH_SECONDS = 10.0  # one views.publish, at most
GROUPS_SECONDS = 300.0  # the workspace's user groups are asked for at most this often


class Runs(Protocol):
    """Where a digest runs: the digest process (`worker.py`), or `Digests` itself."""

    async def run(
        self, name: str, scheduled_for: datetime | None = None, dry_run: bool = False
    ) -> Outcome: ...


@dataclass
class Wiring:
    """What `running` sets while the process runs: the scheduler and where digests run."""

    scheduler: Callable[[], DigestScheduler | None]
    runs: Callable[[], Runs | None]


class Home:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        catalog: Catalog,
        sources: Sources,
        renderer: Renderer,
        web: AsyncWebClient | None,
        poster: Poster | None,
        wiring: Wiring,
        names: Names | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.store = store
        self.catalog = catalog
        self.sources = sources
        self.renderer = renderer
        self.web = web
        self.poster = poster
        self.wiring = wiring
        self.clock = clock
        self.admins = Admins(settings.slack.admins, web)
        self.viewers: dict[str, float] = {}  # user -> when they last looked (the latest VIEWERS)
        self._workspace: str | None = None
        self._usergroups: tuple[float, list[tuple[str, str]]] | None = None
        self.names = names
        self._tasks: set[asyncio.Task[None]] = set()

    # --- the view -----------------------------------------------------------------------

    async def state(self, user: str) -> HomeState:
        """Everything `user`'s view shows, read in one turn of the store."""
        now = self.clock()
        admin = await self.admins.allows(user)
        found = await self.store(lambda db: _read_all(db, self.catalog))
        entries = found["entries"]
        rules = self.catalog.rules_with(found["alerts_table"])
        return HomeState(
            user=user,
            admin=admin,
            now=now,
            config_file=self.settings.config_path,
            sources=tuple(self._sources(found["status"])),
            digests=await off_loop(_digest_lines, entries, found["runs"], now),
            alerts=tuple(_alert_line(row, now) for row in found["alerts"]),
            history=tuple(_audit_line(row) for row in found["history"]),
            alert_settings=AlertSettings(
                channel=rules.channel,
                mention=rules.mention,
                min_answers=rules.rule.min_answers,
                drop_points=rules.rule.drop_points,
                in_file=self.settings.alerts_in_file,
            ),
            workspace_url=await self._workspace_url(),
        )

    async def publish(self, user: str, looked: bool = True) -> None:
        """Publish `user`'s home view: on `app_home_opened` (`looked`), and after a change
        for those who looked within the hour."""
        if self.web is None:
            return
        if looked:
            self.viewers.pop(user, None)
            self.viewers[user] = self.clock().timestamp()
            while len(self.viewers) > VIEWERS:  # the one who looked longest ago goes
                del self.viewers[next(iter(self.viewers))]
        try:
            state = await self.state(user)  # rendered off the loop: 300 digests take 0.1 s
            view = await off_loop(home_view, self.renderer, state)
            async with asyncio.timeout(PUBLISH_SECONDS):
                await self.web.views_publish(user_id=user, view=view)
        except Exception:  # one log line; the next opening tries again
            log.exception("home: the view for %s could not be published", user[:20])

    def refresh_all(self) -> None:
        """After a change: the view again for everyone who looked within the hour."""
        now = self.clock().timestamp()
        for user, at in list(self.viewers.items()):
            if now - at < VIEWERS_FOR_SECONDS:
                self._background(self.publish(user, looked=False))

    def _sources(self, status: Mapping[str, Mapping[str, Any]]) -> list[SourceLine]:
        lines = []
        for name in self.sources.names:
            seen = status.get(name, {})
            lines.append(
                SourceLine(
                    name=name,
                    default=name == self.sources.default,
                    last_ok=_moment(seen.get("last_ok")),
                    last_error_at=_moment(seen.get("last_error_at")),
                    last_error=str(seen.get("last_error") or ""),
                )
            )
        return lines

    async def _workspace_url(self) -> str:
        """The workspace's address (auth.test), for links to threads; asked once."""
        if self._workspace is None and self.web is not None:
            try:
                async with asyncio.timeout(PUBLISH_SECONDS):
                    found = await self.web.auth_test()
                url = found.get("url")
                self._workspace = url if isinstance(url, str) else ""
            except Exception as exc:
                log.warning("home: auth.test failed, links to threads left out: %s", exc)
                return ""
        return self._workspace or ""

    # --- the forms --------------------------------------------------------------------------

    def digest_form(
        self, table: Mapping[str, Any] | None, original: str = "",
        errors: Mapping[str, str] | None = None, revision: int = 0,
    ) -> dict[str, Any]:  # fmt: skip
        """The `digest_edit` modal for a new digest (`table` None) or one made in Slack."""
        return modals.digest_view(
            self.renderer, table=table, sources=self.sources.names,
            directories=self.directories, timezone=self.settings.timezone, now=self.clock(),
            original=original, errors=errors, default_source=self.sources.default,
            revision=revision,
        )  # fmt: skip

    @property
    def directories(self) -> set[str]:
        """The sources whose ids a form picks by name (they have a names directory)."""
        names = self.names
        return set(names.fetchers) if names is not None else set()

    async def redraw(self, view: Mapping[str, Any], preset: str | None) -> dict[str, Any]:
        """The digest form again with what was typed: a preset chosen replaces the cron
        (a new action id makes Slack show it), an Enter in the cron says it in words."""
        table = modals.read_digest_view(view)
        original = view.get("private_metadata")
        revision = modals.next_revision(view)
        if preset is not None:
            table["cron"] = preset
        else:
            revision -= 1  # the same input: Slack keeps what was typed
        table = {k: v for k, v in table.items() if v != modals.JUNK}
        return self.digest_form(table, original if isinstance(original, str) else "", None,
                                revision)  # fmt: skip

    async def form_for(self, user: str, name: str | None) -> dict[str, Any] | str:
        """The form to open for `user`: a new digest, or `name`'s; else the refusal's code."""
        if not await self.admins.allows(user):
            return "not_admin"
        if name is None:
            return self.digest_form(None)
        entry = await self._own(name)
        return entry if isinstance(entry, str) else self.digest_form(entry.table, original=name)

    async def alerts_form(self, user: str) -> dict[str, Any] | str:
        if not await self.admins.allows(user):
            return "not_admin"
        rules = await self.catalog.alert_rules()
        return modals.alerts_view(self.renderer, rules=rules, in_file=self.settings.alerts_in_file)

    async def check_digest(
        self, user: str, user_name: str, view: Mapping[str, Any]
    ) -> dict[str, str] | Callable[[], Awaitable[None]]:
        """A submitted digest form, checked in the ack: `{block_id: message}` to show on
        the form, or the change to make once the form has closed."""
        if not await self.admins.allows(user):  # audited after the ack: it writes
            self._background(self.refused(user, user_name, "a digest form",
                                          _original(view) or "new"))  # fmt: skip
            return {"name": self._said("not_admin")}
        if (missing := modals.incomplete(view, modals.DIGEST_KEYS)) is not None:
            return {missing: self._said("failed_form")}
        table, original = modals.read_digest_view(view), _original(view)
        entries = await self.catalog.entries()
        before = next((e for e in entries if e.name == original), None) if original else None
        if original and before is None:
            return {"name": self._said("no_digest", original)}
        if before is not None and (before.origin != "slack" or before.shadowed):
            return {"name": self._said("not_from_slack", original)}
        taken = {e.name for e in entries} - {original}
        found = modals.check_digest(table, self.settings.timezone, taken, original)
        if isinstance(found, dict):
            return found
        digest = found
        if digest.template and digest.template not in self.renderer.templates():
            return {"template": self._said("no_template", digest.template)}

        async def save() -> None:
            old = before.digest if before is not None else None
            # a new name has no claims yet: like a new schedule, nothing before it is caught up
            moved = old is None or (old.name, old.cron, old.timezone) != (
                digest.name, digest.cron, digest.timezone)  # fmt: skip
            detail = _changes(before.table if before is not None else {}, table)
            at = self.clock().isoformat()
            action = await self.store(lambda db: queries.save_digest(
                db, table, user, user_name, original, detail, moved, at))  # fmt: skip
            if action in ("taken", "gone"):  # another admin, between the check and now
                code = "taken" if action == "taken" else "no_digest"
                await self.tell(
                    user, self.notice(code, digest.name if code == "taken" else original)
                )
                return
            await self.changed()

        return save

    async def check_alerts(
        self, user: str, user_name: str, view: Mapping[str, Any]
    ) -> dict[str, str] | Callable[[], Awaitable[None]]:
        """A submitted alerts form, checked in the ack like a digest's."""
        asked = [k for k in modals.ALERT_KEYS if k not in self.settings.alerts_in_file]
        if not await self.admins.allows(user):
            self._background(self.refused(user, user_name, "the alerts form", "alerts"))
            if not asked:  # no input to show it on

                async def told() -> None:
                    await self.tell(user, self.notice("not_admin"))

                return told
            return {asked[0]: self._said("not_admin")}
        if (missing := modals.incomplete(view, asked)) is not None:
            return {missing: self._said("failed_form")}
        # only the keys the form asks for: a key the file sets is the file's, and a value
        # sent for it (a stale or crafted form) is never kept
        table = {k: v for k, v in modals.read_alerts_view(view).items() if k in asked}
        found = modals.check_alerts(self.settings.alerts, self.settings.alerts_in_file, table)
        if isinstance(found, dict):
            return found
        before = await self.store(queries.alerts)

        async def save() -> None:
            detail = _changes(before, table)
            at = self.clock().isoformat()
            await self.store(lambda db: queries.save_alerts(db, table, user, user_name, detail, at))
            await self.changed()

        return save

    async def check_delete(
        self, user: str, user_name: str, view: Mapping[str, Any]
    ) -> dict[str, str] | Callable[[], Awaitable[None]]:
        name = _original(view)
        if not await self.admins.allows(user):  # the form has no input to show it on
            self._background(self.refused(user, user_name, "delete", name or "?"))

            async def told() -> None:
                await self.tell(user, self.notice("not_admin"))

            return told

        async def delete() -> None:
            code = await self.delete(user, user_name, name)
            if code != "deleted":
                await self.tell(user, self.notice(code, name))

        return delete

    async def id_options(self, action_id: str, typed: str) -> list[dict[str, Any]]:
        """A skill, agent or group picker's options: `digest_ids|<unit>|<source>`."""
        _, unit, source = [*action_id.split("|"), "", ""][:3]
        if unit not in ("skill", "agent", "group") or self.names is None:
            return []
        if source not in self.directories:
            return []
        directory = self.names.get(source) or await self.names.stored(source)
        pairs = [(e.id, e.name) for (kind, _), e in directory.entries.items()
                 if kind == unit and not e.deleted]  # fmt: skip
        return await off_loop(modals.id_options, pairs, typed)

    async def group_options(self, typed: str) -> list[dict[str, Any]]:
        """The alerts' mention picker: the workspace's user groups (usergroups.list)."""
        groups = await self._groups()
        return modals.group_options(groups, typed)

    async def _groups(self) -> list[tuple[str, str]]:
        now = self.clock().timestamp()
        if self._usergroups is not None and now - self._usergroups[0] < GROUPS_SECONDS:
            return self._usergroups[1]
        if self.web is None:
            return []
        try:
            async with asyncio.timeout(2.0):
                found = await self.web.usergroups_list()
        except Exception as exc:
            log.warning("home: usergroups.list failed: %s", exc)
            return []
        listed = found.get("usergroups")
        groups = [
            (str(g.get("id")), str(g.get("name") or g.get("handle") or g.get("id")))
            for g in (listed if isinstance(listed, list) else [])
            if isinstance(g, dict) and isinstance(g.get("id"), str)
        ]
        self._usergroups = (now, groups)
        return groups

    def notice(self, code: str, digest: str = "", reason: str = "") -> Message:
        return self.renderer.render("home_notice.yml.j2", code=code, digest=digest, reason=reason)

    def _said(self, code: str, digest: str = "") -> str:
        """A notice as an error on a form's block (Slack shows 150 characters)."""
        return str(self.notice(code, digest)["text"])[:150]

    # --- what the buttons do --------------------------------------------------------------

    async def _own(self, name: str, shadowed: bool = False) -> Entry | str:
        """The digest made in Slack of that name, or why it cannot be changed here:
        "no_digest", or "not_from_slack" for the file's (and, unless `shadowed` is allowed,
        for one made in Slack whose name the file has taken since)."""
        entries = await self.catalog.entries()
        own = next((e for e in entries if e.origin == "slack" and e.name == name), None)
        if own is not None and (shadowed or not own.shadowed):
            return own
        return "not_from_slack" if own is not None or name in self.catalog.file else "no_digest"

    async def delete_form(self, user: str, name: str) -> dict[str, Any] | str:
        if not await self.admins.allows(user):
            return "not_admin"
        entry = await self._own(name, shadowed=True)  # a shadowed one may go
        return entry if isinstance(entry, str) else modals.delete_view(self.renderer, name)

    async def button(self, user: str, user_name: str, action: str, name: str) -> None:
        """Pause, resume, preview or send now, from a digest's menu; what happened is told
        to the clicker alone when the refreshed page does not show it."""
        if not await self.admins.allows(user):
            await self.refused(user, user_name, action, name)
            await self.tell(user, self.notice("not_admin"))
            return
        reason = ""
        if action in ("pause", "resume"):
            code = await self.pause(user, user_name, name, action == "pause")
        elif action == "preview":
            code, reason = await self.preview(user, user_name, name)
        elif action == "send":
            code, reason = await self.send_now(user, user_name, name)
        else:
            code = "unknown_button"
        if code not in ("paused", "resumed", "previewed"):
            await self.tell(user, self.notice(code, name, reason))

    async def unknown_button(self, user: str) -> None:
        """A menu value this bot never made (an older page, or forged): the page again."""
        await self.tell(user, self.notice("unknown_button"))
        await self.publish(user)

    async def pause(self, user: str, user_name: str, name: str, paused: bool) -> str:
        """Pause or resume a digest made in Slack; a code for what happened."""
        if isinstance(entry := await self._own(name), str):
            return entry
        at = self.clock().isoformat()
        changed = await self.store(
            lambda db: queries.set_paused(db, name, paused, user, user_name, at)
        )
        if changed:
            await self.changed()
        return ("paused" if paused else "resumed") if changed else "no_digest"

    async def delete(self, user: str, user_name: str, name: str) -> str:
        if isinstance(entry := await self._own(name, shadowed=True), str):
            return entry
        at = self.clock().isoformat()
        gone = await self.store(lambda db: queries.delete_digest(db, name, user, user_name, at))
        if gone:
            await self.changed()
        return "deleted" if gone else "no_digest"

    async def preview(self, user: str, user_name: str, name: str) -> tuple[str, str]:
        """Run the digest without storing or posting, and send it to `user` alone (their
        messages tab with the app). A code and, on failure, the reason in words."""
        runs = self.wiring.runs()
        if runs is None or self.poster is None:
            return "no_runs", ""
        try:
            outcome = await runs.run(name, None, True)
            if outcome.message is None:
                return "failed", "the digest made no message"
            await self.poster.post(user, outcome.message)
        except Exception as exc:
            log.warning("home: preview of %s failed: %s", name, exc)
            return "failed", str(exc)
        await self._audit(user, user_name, "preview", name, "")
        return "previewed", ""

    async def send_now(self, user: str, user_name: str, name: str) -> tuple[str, str]:
        """Run the digest now, as `python -m bot digest NAME` does: it posts to its channel."""
        runs = self.wiring.runs()
        if runs is None:
            return "no_runs", ""
        await self._audit(user, user_name, "send", name, "")
        try:
            outcome = await runs.run(name, None)
        except Exception as exc:
            log.warning("home: send now of %s failed: %s", name, exc)
            self.refresh_all()
            return "failed", str(exc)
        self.refresh_all()
        return ("sent" if outcome.status == "posted" else outcome.status), ""

    async def refused(self, user: str, user_name: str, what: str, target: str) -> None:
        """A change asked for by someone who may not make it: logged and audited."""
        log.warning("home: %s (%s) is not an admin; %s of %s refused", user[:20],
                    user_name[:40], what, target[:60])  # fmt: skip
        await self._audit(user, user_name, "refused", target, what)

    async def changed(self) -> None:
        """After a change: jobs moved at once, and every recent viewer's page again."""
        scheduler = self.wiring.scheduler()
        if scheduler is not None:
            try:
                await scheduler.refresh()
            except Exception:
                log.exception("home: the scheduler could not take the change")
        self.refresh_all()

    async def tell(self, user: str, message: Message) -> None:
        """A message to `user` alone, in their messages tab with the app."""
        if self.poster is None:
            return
        try:
            await self.poster.post(user, message)
        except Exception as exc:
            log.warning("home: could not tell %s: %s", user[:20], exc)

    async def _audit(
        self, user: str, user_name: str, action: str, target: str, detail: str
    ) -> None:
        at = self.clock().isoformat()
        try:
            await self.store(
                lambda db: queries.audit(db, user, user_name, action, target, detail, at)
            )
        except Exception:
            log.exception("home: %s of %s could not be recorded", action, target[:60])

    def _background(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _read_all(db: Any, catalog: Catalog) -> dict[str, Any]:
    """The rows of every feature the view shows, in one read transaction (the digests that
    no longer read are `check`'s to name: the view shows what runs)."""
    with reading(db):
        return {
            "entries": catalog.read(db)[0],
            "runs": latest_runs(db),
            "alerts": open_alerts(db),
            "history": queries.history(db),
            "status": read_status(db),
            "alerts_table": queries.alerts(db),
        }


def _moment(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def _digest_lines(
    entries: list[Entry], runs: Mapping[str, Mapping[str, Any]], now: datetime
) -> tuple[DigestLine, ...]:
    """Every digest's line, off the loop: each schedule said in words and its next run
    found (a tenth of a millisecond each, hundreds of digests)."""
    return tuple(_digest_line(e, runs.get(e.name), now) for e in entries)


def _digest_line(entry: Entry, run: Mapping[str, Any] | None, now: datetime) -> DigestLine:
    d = entry.digest
    upcoming = next_fires(d.cron, d.timezone, now, 1) if entry.active else []
    ids = d.ids
    return DigestLine(
        name=d.name,
        kind=d.kind,
        source=d.source or "",
        unit=d.unit,
        ids=ids if ids is None or isinstance(ids, str) else tuple(ids),
        channel=d.channel,
        cron=d.cron,
        schedule=describe(d.cron, d.timezone),
        timeframe=typed_duration(d.timeframe),
        post=d.post,
        origin=entry.origin,
        paused=entry.paused or entry.shadowed,
        next_run=upcoming[0] if upcoming else None,
        last_run=_moment(run.get("started_at")) if run else None,
        last_status=str(run.get("status") or "") if run else "",
        last_error=str(run.get("error") or "") if run else "",
        last_ts=str(run.get("message_ts") or "") if run else "",
        changed_by=entry.changed_by,
    )


def _alert_line(row: Mapping[str, Any], now: datetime) -> AlertLine:
    name = row.get("entity_name") or row.get("entity_id") or ""
    kind = row.get("entity_kind") or ""
    entity = f"{kind} {name}".strip() if kind != "total" else "the account"
    drop = row.get("last_drop") or row.get("opened_drop") or 0.0
    metric = "CSAT" if row.get("metric") == "csat" else str(row.get("metric") or "")
    return AlertLine(
        id=int(row["id"]),
        headline=f"{metric} of {entity} down {abs(float(drop)):.1f}",
        entity=entity,
        state=ownership.state(row, now),
        owner=str(row.get("acked_by") or ""),
        opened_at=_moment(row.get("opened_at")) or now,
        channel=str(row.get("channel") or ""),
        ts=str(row.get("ts") or ""),
    )


def _audit_line(row: Mapping[str, Any]) -> AuditLine:
    return AuditLine(
        at=_moment(row.get("at")) or datetime.fromtimestamp(0, UTC),
        user=str(row.get("user") or ""),
        action=str(row.get("action") or ""),
        target=str(row.get("target") or ""),
        detail=str(row.get("detail") or ""),
    )


def _original(view: Mapping[str, Any]) -> str:
    """The name a form was opened for (private_metadata), "" for a new one."""
    found = view.get("private_metadata")
    return found[:40] if isinstance(found, str) else ""


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """What a change did, for the history: `key: old → new`, one per changed key."""
    lines = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            lines.append(f"{key}: {_shown(old)} → {_shown(new)}")
    return "; ".join(lines)[:2000]


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)[:200]
    return str(value)[:200]
