"""A simulated Slack: the Web API methods the bot calls, response_url, and signing."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from bot.demo.sim.server import Call, LoopbackServer, Reply, reply


class SimulatedSlack(LoopbackServer):
    """Web API under `/api/`, response URLs under `/response/`.

    A token containing `429` is rate-limited, one containing `invalid` is refused,
    the way bolt-python's own mock server makes error paths one argument away. Channel
    ids say what the channel is: `C0NOTIN…` a public channel the bot is not in,
    `C0GONE…` none, `C0ARCHIVED…` an archived one, `G…` a private one, and `G0NOTIN…`
    a private one the bot is not in, which Slack answers as if it did not exist. A user
    id containing `GONE` is nobody; `workspace_admins`, `workspace_owners` and
    `usergroups` say who the others are.
    """

    def __init__(self) -> None:
        super().__init__()
        self._ts = itertools.count(1)
        self._urls = itertools.count(1)
        self.socket_url = ""  # set to a SimulatedSocketMode's url for Socket Mode
        self.rate_limit = False  # True: a second post to a channel within 1 s gets 429
        self._files = itertools.count(1)
        self._last_post: dict[str, float] = {}
        self._views = itertools.count(1)
        self._view_hashes: dict[str, str] = {}  # a view's id -> its current hash
        self.workspace_admins: set[str] = {"U0ADMIN"}
        self.workspace_owners: set[str] = {"U0OWNER"}  # owners are admins too, as in Slack
        self.usergroups: dict[str, tuple[str, list[str]]] = {
            "S0LEADS": ("support-leads", ["U0LEAD"])
        }

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self) -> str:
        return f"{self.url}/response/{next(self._urls)}"

    def responses(self, url: str) -> list[Call]:
        """What the bot posted to one response_url."""
        path = url.removeprefix(self.url)
        return [c for c in self.calls_to("/response/") if c.path == path]

    def posts(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages the bot posted (chat.postMessage bodies), to one channel or all."""
        bodies = [c.data() for c in self.calls_to("/api/chat.postMessage")]
        return [b for b in bodies if channel is None or b.get("channel") == channel]

    def uploads(self) -> list[Call]:
        """File contents the bot uploaded (files_upload_v2's middle step)."""
        return self.calls_to("/upload/")

    def views(self, method: str | None = None) -> list[dict[str, Any]]:
        """The bodies of `views.publish`, `views.open` and `views.update` calls (or of one
        of them: "views.publish" or "publish"), each `view` as a dict."""
        wanted = None if method is None else "/api/views." + method.removeprefix("views.")
        return [
            _with_view(c.data())
            for c in self.calls_to("/api/views.")
            if wanted is None or c.path == wanted
        ]

    def _post(self, call: Call, method: str) -> Reply:
        body = call.data()
        channel = str(body.get("channel", ""))
        if channel.startswith("C0NOTIN"):
            return reply(200, {"ok": False, "error": "not_in_channel"})
        if channel.startswith(("C0GONE", "G0NOTIN")):
            return reply(200, {"ok": False, "error": "channel_not_found"})
        now = time.monotonic()
        if self.rate_limit and now - self._last_post.get(channel, -10.0) < 1.0:
            return reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
        self._last_post[channel] = now
        ts = body.get("ts") or f"{time.time():.0f}.{next(self._ts):06d}"
        return reply(200, {"ok": True, "channel": channel, "ts": ts, "message": body})

    def route(self, call: Call) -> Reply:
        if call.path.startswith(("/response/", "/upload/")):
            return 200, {"Content-Type": "text/plain"}, f"OK - {len(call.body)}".encode()
        if not call.path.startswith("/api/"):
            return reply(404, {"ok": False, "error": "unknown_method"})
        token = call.headers.get("authorization", "").removeprefix("Bearer ")
        if "429" in token:
            return reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
        if "invalid" in token:
            return reply(200, {"ok": False, "error": "invalid_auth"})
        method = call.path.removeprefix("/api/")
        if method == "auth.test":
            return reply(
                200,
                {
                    "ok": True,
                    "url": "https://sim.slack.com/",
                    "team": "Sim",
                    "user": "csat-bot",
                    "team_id": "T0SIM",
                    "user_id": "U0BOT",
                    "bot_id": "B0BOT",
                },
            )
        if method in ("chat.postMessage", "chat.update"):
            return self._post(call, method)
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._files):05d}"
            return reply(200, {"ok": True, "upload_url": f"{self.url}/upload/{file_id}",
                               "file_id": file_id})  # fmt: skip
        if method == "files.completeUploadExternal":
            return reply(200, {"ok": True, "files": json.loads(call.data().get("files", "[]"))})
        if method in ("views.publish", "views.open", "views.update"):
            return self._view(call, method)
        if method == "users.info":
            return self._user(str(call.data().get("user", "")))
        if method == "usergroups.list":
            groups = [
                {"id": group, "handle": handle, "name": handle.replace("-", " ").title(),
                 "user_count": len(members)}
                for group, (handle, members) in self.usergroups.items()
            ]  # fmt: skip
            return reply(200, {"ok": True, "usergroups": groups})
        if method == "usergroups.users.list":
            found = self.usergroups.get(str(call.data().get("usergroup", "")))
            if found is None:
                return reply(200, {"ok": False, "error": "no_such_subteam"})
            return reply(200, {"ok": True, "users": list(found[1])})
        if method == "conversations.info":
            return self._channel(str(call.data().get("channel", "")))
        if method == "apps.connections.open":
            if not token.startswith("xapp-") or not self.socket_url:
                return reply(200, {"ok": False, "error": "not_allowed_token_type"})
            return reply(200, {"ok": True, "url": self.socket_url})
        return reply(
            200, {"ok": True, "channel": "C0SIM", "ts": f"{time.time():.0f}.{next(self._ts):06d}"}
        )

    def _view(self, call: Call, method: str) -> Reply:
        """The view echoed back with its id and a new hash; an update carrying a hash that
        is no longer the view's is refused, as Slack refuses it."""
        body = _with_view(call.data())
        view = body.get("view")
        if not isinstance(view, dict):
            return reply(200, {"ok": False, "error": "invalid_arguments"})
        view_id = str(body.get("view_id") or "") if method == "views.update" else ""
        if not view_id:
            view_id = f"V{next(self._views):04d}"
        given = body.get("hash")
        with self._lock:
            if given and self._view_hashes.get(view_id, given) != given:
                return reply(200, {"ok": False, "error": "hash_conflict"})
            new_hash = f"{time.time():.0f}.{secrets.token_hex(4)}"
            self._view_hashes[view_id] = new_hash
        answer = {"state": {"values": {}}, **view, "id": view_id, "hash": new_hash,
                  "team_id": "T0SIM", "app_id": "A0BOT", "bot_id": "B0BOT"}  # fmt: skip
        return reply(200, {"ok": True, "view": answer})

    def _user(self, user: str) -> Reply:
        if "GONE" in user or not user:
            return reply(200, {"ok": False, "error": "user_not_found"})
        owner = user in self.workspace_owners
        return reply(200, {"ok": True, "user": {
            "id": user, "team_id": "T0SIM", "name": user.lower(), "real_name": f"Sim {user}",
            "is_admin": owner or user in self.workspace_admins, "is_owner": owner,
            "is_bot": False, "deleted": False, "tz": "Europe/Berlin",
        }})  # fmt: skip

    def _channel(self, channel: str) -> Reply:
        if channel.startswith(("C0GONE", "G0NOTIN")) or not channel:
            return reply(200, {"ok": False, "error": "channel_not_found"})
        private = channel.startswith("G")
        answer = {
            "id": channel,
            "name": f"sim-{channel.lower()}",
            "is_channel": not private,
            "is_group": private,
            "is_private": private,
            "is_member": not channel.startswith("C0NOTIN"),
            "is_archived": channel[1:].startswith("0ARCHIVED"),
        }
        return reply(200, {"ok": True, "channel": answer})


def _with_view(body: dict[str, Any]) -> dict[str, Any]:
    """A views.* body with its `view` as a dict, however it was sent (a JSON string in a
    form, or an object in a JSON body)."""
    view = body.get("view")
    if isinstance(view, str):
        try:
            return {**body, "view": json.loads(view)}
        except ValueError:
            return body
    return body


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with a request: `v0=` HMAC-SHA256 of `v0:{ts}:{body}`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def slash_payload(
    command: str, text: str, response_url: str, user: str = "U0LEAD"
) -> dict[str, str]:
    """A slash command's fields as Slack sends them."""
    return {
        "token": "deprecated-verification-token", "team_id": "T0SIM", "team_domain": "sim",
        "channel_id": "C0TEAM", "channel_name": "team-leads", "user_id": user,
        "user_name": "lead", "command": command, "text": text, "api_app_id": "A0BOT",
        "response_url": response_url, "trigger_id": "1.2.3",
    }  # fmt: skip


def slash_command(command: str, text: str, response_url: str, user: str = "U0LEAD") -> str:
    """A slash command as Slack posts it over HTTP (form-encoded)."""
    return urlencode(slash_payload(command, text, response_url, user))


_events = itertools.count(1)


def interaction(payload: dict[str, Any]) -> str:
    """A button click, a modal's submission or a select's options request as Slack posts
    it over HTTP: the form field `payload`, holding the JSON."""
    return urlencode({"payload": json.dumps(payload)})


def event(event: dict[str, Any], team: str = "T0SIM") -> str:
    """An Events API `event_callback` body (JSON) carrying `event`."""
    return json.dumps(
        {
            "token": "deprecated-verification-token",
            "type": "event_callback",
            "team_id": team,
            "api_app_id": "A0BOT",
            "event": event,
            "event_id": f"Ev{next(_events):08d}",
            "event_time": int(time.time()),
        }
    )


def home_opened(user: str) -> str:
    """The `app_home_opened` event Slack sends when `user` opens the app's Home tab."""
    return event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"})
