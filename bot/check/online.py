"""`python -m bot check --online`: ask Slack and the vendors whether the set-up works.

The offline `check` reads the file; only Slack knows whether the token is valid, the bot
is in the digests' channels and the user groups named in the file exist, and only a
vendor knows whether its credentials still work. Each answer is one line saying what is
wrong and what to do; nothing here raises and nothing prints a traceback, because whoever
runs it is setting the bot up, not debugging it. The digests to check are an argument:
those made in Slack (stored in the database) are checked the same way as the file's.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import AlertRules, Digest, Settings
from bot.errors import (
    BotError,
    SourceError,
    VendorAuthError,
    VendorBadResponse,
    VendorRateLimited,
    VendorRejected,
    VendorTimeout,
    VendorUnavailable,
    WrongRegion,
)
from bot.query import Query
from bot.render import Renderer
from bot.sources import VENDOR_NAMES

Level = Literal["ok", "note", "warning", "error"]
SLACK_SECONDS = 20.0  # one Slack call, a 429's wait included: a check that hangs helps nobody
SUBTEAM = re.compile(r"<!subteam\^(S[A-Z0-9]+)")
REFUSED_TOKEN = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
CREDENTIALS = {
    "liveperson": "LIVEPERSON_CLIENT_ID and LIVEPERSON_CLIENT_SECRET (or the legacy keys)",
    "livechat": "LIVECHAT_TOKEN (and LIVECHAT_ACCOUNT_ID for a Personal Access Token)",
}
URLS = {
    "liveperson": "LIVEPERSON_DOMAIN_API_URL (and LIVEPERSON_*_URL, when set)",
    "livechat": "LIVECHAT_API_URL",
}


@dataclass(frozen=True)
class Finding:
    """One line of the online check: what it is about, how bad, and what to do."""

    area: str  # "slack", "liveperson", "livechat", "maestroqa"
    level: Level
    text: str

    @property
    def line(self) -> str:
        """As the terminal shows it, like the offline check's lines ("slack error: …")."""
        level = "" if self.level == "ok" else f" {self.level}"
        return f"{self.area}{level}: {self.text}"


class SlackTrouble(Exception):
    """A Slack call that did not answer `ok`, in words; `code` is Slack's error code."""

    def __init__(self, words: str, code: str = "") -> None:
        super().__init__(words)
        self.code = code


async def check_online(
    settings: Settings,
    digests: Sequence[Digest],
    renderer: Renderer | None = None,
    alerts: AlertRules | None = None,
    web: AsyncWebClient | None = None,
) -> list[Finding]:
    """Slack's token, the channels `digests` (and the alerts) post to, the user groups the
    alerts call in and `[slack] admins` names, then one cheap call to each vendor.

    `alerts` defaults to the file's `[alerts]`; the `[alerts]` keys set in Slack are passed
    in the same way as the digests made there."""
    renderer = renderer or Renderer(settings.templates, settings.timezone)
    rules = alerts or settings.alerts
    found = await _guarded("slack", _slack(settings, digests, rules, web))
    for source in ("liveperson", "livechat"):
        if getattr(settings, source) is not None:
            found += await _guarded(source, _vendor(settings, source, renderer))
    if settings.maestroqa_token:
        why = "MaestroQA has no read-only call to try it with"
        more = "`python -m bot outbox` shows whether forwarding works"
        found.append(
            Finding("maestroqa", "note", f"MaestroQA's token is not checked: {why} ({more})")
        )
    return found


async def _guarded(area: str, check: Awaitable[list[Finding] | Finding]) -> list[Finding]:
    """A check's findings; a check that failed in a way nobody foresaw is one line too."""
    try:
        found = await check
    except Exception as exc:
        why = f"{type(exc).__name__}: {str(exc)[:120]}"
        return [Finding(area, "error", f"could not be checked ({why})")]
    return found if isinstance(found, list) else [found]


# --- Slack ------------------------------------------------------------------------------


async def _slack(
    settings: Settings, digests: Sequence[Digest], alerts: AlertRules, web: AsyncWebClient | None
) -> list[Finding]:
    token = settings.slack.bot_token
    if web is None and not token:
        why = "SLACK_BOT_TOKEN is not set: set the bot's token (OAuth & Permissions, xoxb-…)"
        return [Finding("slack", "error", f"{why} to check Slack")]
    if web is None:
        from bot.slack import client

        web = client(token or "", settings.slack.api_url, retries=1)
    try:
        who = await _call(web.auth_test, settings)
    except SlackTrouble as exc:
        rest = "; channels and user groups were not checked"
        if exc.code in REFUSED_TOKEN:
            fix = "set the app's Bot User OAuth Token (xoxb-…) from OAuth & Permissions"
            return [
                Finding(
                    "slack", "error", f"Slack refused SLACK_BOT_TOKEN ({exc.code}): {fix}{rest}"
                )
            ]
        return [Finding("slack", "error", f"{exc}{rest}")]
    bot = str(who.get("user") or "the bot")
    team = f"{who.get('team') or '?'} ({who.get('team_id') or '?'})"
    user = f"@{bot} ({who.get('user_id') or '?'})"
    found = [Finding("slack", "ok", f"the bot token works: workspace {team}, bot user {user}")]
    for channel, users in _channels(digests, alerts).items():
        found.append(await _channel(web, settings, channel, users, bot))
    found += await _usergroups(web, settings, alerts)
    return found


def _channels(digests: Sequence[Digest], alerts: AlertRules) -> dict[str, list[str]]:
    """Each channel the bot posts to, with who posts there (a watch posts nothing)."""
    channels: dict[str, list[str]] = {}
    for digest in digests:
        if digest.post:
            channels.setdefault(digest.channel, []).append(f"digest {digest.name}")
    if alerts.channel:
        channels.setdefault(alerts.channel, []).append("[alerts] channel")
    return channels


async def _channel(
    web: AsyncWebClient, settings: Settings, channel: str, users: list[str], bot: str
) -> Finding:
    """Whether the bot can post in `channel`: it exists, is not archived, has the bot."""
    whose = ", ".join(users)
    invite = f"`/invite @{bot}` in it"
    try:
        answer = await _call(lambda: web.conversations_info(channel=channel), settings)
    except SlackTrouble as exc:
        if exc.code == "channel_not_found":
            return Finding(
                "slack",
                "error",
                f"channel {channel} ({whose}) was not found: it does not exist, or it is "
                "private and the bot is not in it: check the id (the channel's details, at the "
                f"bottom), or {invite}",
            )
        return Finding("slack", "error", f"channel {channel} ({whose}) could not be checked: {exc}")
    info = answer.get("channel")
    if not isinstance(info, dict):
        why = "Slack's answer had no channel in it; try again later"
        return Finding("slack", "error", f"channel {channel} ({whose}): {why}")
    name = f"#{info.get('name')}" if info.get("name") else channel
    where = f"channel {name} ({channel}; {whose})"
    if info.get("is_archived"):
        why = "nothing can be posted there; pick another channel, or unarchive it"
        return Finding("slack", "error", f"{where} is archived: {why}")
    if not info.get("is_member"):
        if info.get("is_private"):
            why = f"is private and the bot is not in it, so it cannot post there: {invite}"
            return Finding("slack", "error", f"{where} {why}")
        why = f"it can post there through the chat:write.public scope, but {invite} to make it one"
        return Finding("slack", "warning", f"{where}: the bot is not a member; {why}")
    private = "private, " if info.get("is_private") else ""
    return Finding("slack", "ok", f"{where}: {private}the bot is a member")


async def _usergroups(web: AsyncWebClient, settings: Settings, alerts: AlertRules) -> list[Finding]:
    """The user groups `[alerts] mention` calls in and `[slack] admins` lets change things."""
    named: dict[str, list[str]] = {}
    for group in SUBTEAM.findall(alerts.mention):
        named.setdefault(group, []).append("[alerts] mention")
    for admin in settings.slack.admins:
        if admin.startswith("S"):
            named.setdefault(admin, []).append("[slack] admins")
    if not named:
        return []
    try:
        answer = await _call(lambda: web.usergroups_list(include_disabled=True), settings)
    except SlackTrouble as exc:
        what = f"the user groups {', '.join(named)} could not be checked"
        return [Finding("slack", "error", f"{what}: {exc}")]
    groups = {str(g.get("id")): g for g in answer.get("usergroups") or () if isinstance(g, dict)}
    known = ", ".join(
        f"@{g.get('handle')} ({i})" for i, g in list(groups.items())[:5] if not g.get("date_delete")
    )
    found = []
    for group, users in named.items():
        where = f"user group {group} ({', '.join(users)})"
        info = groups.get(group)
        if info is None:
            some = f" (this workspace has {known}" + (", …)" if len(groups) > 5 else ")")
            why = f"does not exist in this workspace: use a user group's id{some if known else ''}"
            found.append(Finding("slack", "error", f"{where} {why}"))
        elif info.get("date_delete"):
            why = "is disabled: enable it in Slack, or name another"
            found.append(Finding("slack", "error", f"{where} (@{info.get('handle')}) {why}"))
        else:
            found.append(Finding("slack", "ok", f"{where}: @{info.get('handle')} exists"))
    return found


async def _call(call: Callable[[], Awaitable[Any]], settings: Settings) -> dict[str, Any]:
    """One Slack call's answer, or a `SlackTrouble` saying in words what went wrong."""
    url = settings.slack.api_url
    try:
        async with asyncio.timeout(SLACK_SECONDS):
            answer = await call()
        data = answer.data
    except SlackApiError as exc:
        raise _refused(exc, url) from None
    except TimeoutError:
        why = f"Slack did not answer within {SLACK_SECONDS:g} s ({url})"
        raise SlackTrouble(f"{why}: try again, or check the network and SLACK_API_URL") from None
    except aiohttp.ClientError as exc:
        why = f"Slack could not be reached at {url} ({type(exc).__name__})"
        raise SlackTrouble(f"{why}: check the network and SLACK_API_URL") from None
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # not Slack's JSON
        raise _unreadable(type(exc).__name__, url) from None
    if not isinstance(data, dict):
        raise _unreadable("not a JSON object", url)
    return data


def _unreadable(what: str, url: str) -> SlackTrouble:
    return SlackTrouble(
        f"Slack's answer could not be read ({what}): check SLACK_API_URL ({url}), "
        "or try again later"
    )


def _refused(exc: SlackApiError, url: str) -> SlackTrouble:
    """Slack's `ok: false` (or an HTTP error, or a body that is not JSON) in words.

    slack_sdk hands over its own response for JSON and aiohttp's for anything else."""
    answer = exc.response
    status = getattr(answer, "status_code", None) or getattr(answer, "status", None)
    data = getattr(answer, "data", None)
    code = str(data.get("error") or "") if isinstance(data, dict) else ""
    if status == 429 or code == "ratelimited":
        why = "Slack is rate-limiting the bot (HTTP 429): try again in a minute"
        return SlackTrouble(why, "ratelimited")
    if code == "missing_scope":
        needed = str(data.get("needed") or "") if isinstance(data, dict) else ""
        scope = f"the {needed} scope" if re.fullmatch(r"[a-z:.,_]{1,80}", needed) else "a scope"
        fix = "add it from manifest.yml and reinstall the app"
        return SlackTrouble(f"the Slack app lacks {scope}: {fix}", code)
    if code and re.fullmatch(r"[a-z0-9_.]{1,64}", code):
        return SlackTrouble(f"Slack refused the call ({code})", code)
    if isinstance(status, int) and status >= 500:
        return SlackTrouble(f"Slack answered HTTP {status}: try again in a few minutes")
    return _unreadable(f"HTTP {status or '?'}", url)


# --- the vendors ------------------------------------------------------------------------


async def _vendor(settings: Settings, source: str, renderer: Renderer) -> Finding:
    """One cheap call with the configured credentials: the smallest report a digest asks."""
    from bot.app import build_sources  # the bot's own clients, with its time-outs and retries

    vendor = VENDOR_NAMES[source]
    sources = build_sources(settings)
    try:
        found = sources.get(source)
        if found is None:  # pragma: no cover - the settings said it is configured
            return Finding(source, "error", f"{vendor} is configured but has no client")
        await _probe(source, found)
    except SourceError as exc:
        return Finding(source, "error", f"{_said(renderer, exc)}{_todo(source, exc)}")
    except Exception as exc:  # whatever else: a line, never a traceback
        why = f"{type(exc).__name__}: {str(exc)[:120]}"
        return Finding(source, "error", f"{vendor} could not be checked ({why})")
    finally:
        with contextlib.suppress(Exception):  # closing a client that failed says nothing more
            await sources.aclose()
    return Finding(source, "ok", f"{vendor} answers with the configured credentials")


async def _probe(source: str, client: Any) -> None:
    """LivePerson: five minutes of the account's CSAT (the token, the Domain API and the
    Operations API, what every digest needs); LiveChat: its ratings report over the last
    five minutes (one call with the token, as every CSAT digest makes)."""
    if source == "liveperson":
        await client.csat(Query("/csat", source, "account", None, 5))
        return
    from bot.sources.livechat import Filters

    now = datetime.now(UTC)
    await client.report("ratings", Filters(now - timedelta(minutes=5), now))


def _said(renderer: Renderer, error: BotError) -> str:
    """The bot's own words for a vendor's failure, without the trailing full stop."""
    return renderer.said(error).rstrip()


def _todo(source: str, error: SourceError) -> str:
    """What to do about a failure the bot's words leave to the reader."""
    if isinstance(error, WrongRegion) or getattr(error, "facts", None):
        return ""  # refused credentials and a wrong region already say what to change
    if isinstance(error, VendorAuthError):
        return f": check {CREDENTIALS[source]}"
    if isinstance(error, VendorRateLimited):
        return ": try again in a minute"
    if isinstance(error, VendorUnavailable):
        return f": try again in a few minutes; if it lasts, check {URLS[source]}"
    if isinstance(error, VendorTimeout):
        return ": try again; if it lasts, check the network, BOT_VENDOR_TIMEOUT and " + URLS[source]
    if isinstance(error, VendorBadResponse | VendorRejected):
        return f": check {URLS[source]}, or try again later"
    return ""
