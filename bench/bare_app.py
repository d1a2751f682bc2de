"""The yardstick: a Bolt app on the same server stack that only acknowledges: /csat, the
Home tab's `app_home_opened` event and the `digest_edit` form's submission.

By default Bolt's own settings (`process_before_response=False`: an ack is looked for
every 10 ms); with BARE_BEFORE_RESPONSE=1, `process_before_response=True` as the bot runs
(the answer leaves when the listener returns)."""

from __future__ import annotations

import os

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def build() -> Starlette:
    token = os.environ["SLACK_BOT_TOKEN"]
    app = AsyncApp(
        token=token,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        client=AsyncWebClient(token=token, base_url=os.environ["SLACK_API_URL"]),
        process_before_response=os.environ.get("BARE_BEFORE_RESPONSE") == "1",
    )

    @app.command("/csat")
    async def only_ack(ack) -> None:  # type: ignore[no-untyped-def]
        await ack()

    @app.event("app_home_opened")
    async def home_opened(ack) -> None:  # type: ignore[no-untyped-def]
        await ack()

    @app.view("digest_edit")
    async def digest_edit(ack) -> None:  # type: ignore[no-untyped-def]
        await ack()

    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[Route("/slack/events", events, methods=["POST"]), Route("/healthz", healthz)]
    )


if __name__ == "__main__":
    uvicorn.run(
        build(),
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        log_level="warning",
        access_log=False,
    )
