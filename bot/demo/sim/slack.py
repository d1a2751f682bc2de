"""A simulated Slack: the Web API methods the bot calls, response_url, and signing."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from bot.demo.sim.server import Call, LoopbackServer, Reply, reply


class SimulatedSlack(LoopbackServer):
    """Web API under `/api/`, response URLs under `/response/`.

    A token containing `429` is rate-limited, one containing `invalid` is refused,
    the way bolt-python's own mock server makes error paths one argument away.
    """

    def __init__(self) -> None:
        super().__init__()
        self._ts = itertools.count(1)
        self._urls = itertools.count(1)
        self.socket_url = ""  # set to a SimulatedSocketMode's url for Socket Mode
        self.rate_limit = False  # True: a second post to a channel within 1 s gets 429
        self._files = itertools.count(1)
        self._last_post: dict[str, float] = {}

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

    def _post(self, call: Call, method: str) -> Reply:
        body = call.data()
        channel = str(body.get("channel", ""))
        if channel.startswith("C0NOTIN"):
            return reply(200, {"ok": False, "error": "not_in_channel"})
        if channel.startswith("C0GONE"):
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
        if method == "apps.connections.open":
            if not token.startswith("xapp-") or not self.socket_url:
                return reply(200, {"ok": False, "error": "not_allowed_token_type"})
            return reply(200, {"ok": True, "url": self.socket_url})
        return reply(
            200, {"ok": True, "channel": "C0SIM", "ts": f"{time.time():.0f}.{next(self._ts):06d}"}
        )


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
