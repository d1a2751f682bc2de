"""LivePerson's legacy app key: each request signed with OAuth 1.0 (HMAC-SHA1).

A module of its own so that oauthlib (and httpx, which `httpx.Auth` needs at import)
load only for an account that uses the legacy key.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Literal

import httpx
from oauthlib.oauth1 import Client as OAuth1Client

from bot.config import LivePersonSettings


class OAuth1Auth(httpx.Auth):
    """Signs each request with LivePerson's legacy app key (OAuth 1.0, HMAC-SHA1)."""

    def __init__(self, settings: LivePersonSettings) -> None:
        self._client = OAuth1Client(
            settings.consumer_key or "",
            client_secret=settings.consumer_secret,
            resource_owner_key=settings.token,
            resource_owner_secret=settings.token_secret,
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        form = request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        )
        if request.method not in ("GET", "POST"):  # the bot only reads reports
            raise ValueError(f"LivePerson is only asked with GET and POST, not {request.method}")
        method: Literal["GET", "POST"] = "POST" if request.method == "POST" else "GET"
        _, headers, _ = self._client.sign(
            str(request.url),
            http_method=method,
            body=request.content.decode() if form and request.content else None,
            headers={"Content-Type": request.headers["content-type"]} if form else None,
        )
        request.headers["Authorization"] = headers["Authorization"]
        yield request
