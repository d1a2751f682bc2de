"""`POST /slack/events` before Bolt sees it (the other routes are `app.http_routes`).

`/slack/events` refuses early and cheaply, before Bolt sees anything: a body over
`MAX_SLACK_BODY` is refused on its declared length (or as soon as it passes the limit),
an unsigned or stale request gets 401, and one Bolt cannot read (not UTF-8, a `payload`
that is not JSON) gets 400; each refusal is one log line, never a traceback. Slack's own
payloads are small: a slash command is a few hundred bytes, a button click with its
message some tens of kilobytes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from slack_bolt.adapter.starlette.async_handler import (
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.inbound import read_body
from bot.listeners.reply import AckFirst

log = logging.getLogger(__name__)
MAX_SLACK_BODY = 512 * 1024
Handler = Callable[[Request], Awaitable[Response]]


def slack_events(app: AsyncApp, signing_secret: str, ack_first: AckFirst) -> Handler:
    """The Starlette handler for `POST /slack/events`: refuse early, then let Bolt answer.

    `ack_first` counts the requests not yet answered: the work behind earlier acks waits
    for them.
    """
    verifier = SignatureVerifier(signing_secret)

    async def handle(request: Request) -> Response:
        ack_first.arrived()
        try:
            return await _handle(request)
        finally:
            ack_first.acked()

    async def _handle(request: Request) -> Response:
        body = await read_body(request, MAX_SLACK_BODY)
        if body is None:
            return _refuse(413, f"a body over {MAX_SLACK_BODY // 1024} KiB")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _refuse(400, "a body that is not UTF-8")
        if not signed(verifier, request.headers, text):
            return _refuse(401, "no valid Slack signature, or a stale one")
        try:
            bolt_request = to_async_bolt_request(request, body)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # a payload or a JSON body that is not JSON, or one whose parts are not the
            # shapes Slack sends (Bolt reads `user` as an object before any listener)
            return _refuse(400, f"a body Slack would not send ({type(exc).__name__})")
        return to_starlette_response(await app.async_dispatch(bolt_request))

    return handle


def signed(verifier: SignatureVerifier, headers: Mapping[str, str], body: str) -> bool:
    """Slack's `v0=` signature over the raw body, with a timestamp within five minutes."""
    timestamp = headers.get("x-slack-request-timestamp", "").strip()
    signature = headers.get("x-slack-signature", "")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12 or not signature:
        return False  # twelve digits reach the year 33658: more is no time, and no int()
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)


def _refuse(status: int, why: str) -> Response:
    log.warning("refused a request to /slack/events: %s", why)
    return PlainTextResponse(why, status_code=status)
