"""The App Home tab: its opening, its buttons, its forms and their pickers. Thin: each
listener acks and hands the work to `Home` (`home/service.py`), through `AckFirst` when it
can wait for the acks in flight.

A form's submission is checked before its ack, because Slack shows a bad value only as
the ack's `response_action: "errors"` on its block; the change itself is made after the
ack. A button that opens a form does it at once after the ack: its trigger_id lives 3 s.
Options for the pickers are the ack itself (Slack waits 3 s for them).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.home.service import Home
from bot.home.view import ACTION_ID, read_action
from bot.listeners.reply import AckFirst, Reply, action_of, name_of, user_of, view_of

log = logging.getLogger(__name__)
MODAL_WAIT = 2.5  # seconds: Slack honours a trigger_id 3 s from the click
OPTIONS_WAIT = 2.5  # seconds: Slack waits 3 s for a picker's options
CHECK = 2.5  # seconds a submission's check may take: its ack is due within 3
DIGEST_FORM, ALERTS_FORM, DELETE_FORM = "digest_edit", "alerts_edit", "digest_delete"
PRESET, IDS, MENTION = "digest_cron_preset", re.compile(r"digest_ids\|.*"), "alerts_mention"
SOURCE = "digest_source"  # the form's source select redraws it
FAILED = "That did not work; the bot's log has the details. Try again in a minute."
CRON = re.compile(r"cron(\|\d+)?")  # Enter in the cron input (its action id moves with presets)


def _first_input(view: dict[str, Any]) -> str | None:
    """The block an error about the whole form is shown on: Slack shows errors on input
    blocks only (a form without one is told by message)."""
    blocks = view.get("blocks")
    for block in blocks if isinstance(blocks, list) else []:
        if isinstance(block, dict) and block.get("type") == "input":
            found = block.get("block_id")
            return found[:255] if isinstance(found, str) and found else None
    return None


def _told(home: Home, user: str) -> Any:
    async def tell() -> None:
        await home.tell(user, home.notice("failed_form"))

    return tell


def register(app: AsyncApp, home: Home | None, ack_first: AckFirst) -> None:
    """The Home tab's listeners; without Slack's Web API (`home` None), none."""
    if home is None:
        return

    async def opened(event: dict[str, Any]) -> None:
        user = event.get("user")
        if event.get("tab") == "home" and isinstance(user, str):
            ack_first.later(home.publish(user))

    async def open_form(body: dict[str, Any], client: AsyncWebClient, form: Any) -> None:
        """After the ack: the form, or why not, to the clicker."""
        user, trigger = user_of(body), body.get("trigger_id")
        if user is None or not isinstance(trigger, str):
            return
        try:
            async with asyncio.timeout(MODAL_WAIT):  # the form and views.open together
                found = await form(user)
                if isinstance(found, str):
                    refused = found
                else:
                    refused = ""
                    await client.views_open(trigger_id=trigger, view=found)
            if refused:
                await home.tell(user, home.notice(refused))
        except Exception as exc:
            log.warning("home: the form did not open: %s", exc)
            await home.tell(user, home.notice("modal"))

    async def add(body: dict[str, Any], ack: Reply, client: AsyncWebClient) -> None:
        await ack()
        await open_form(body, client, lambda user: home.form_for(user, None))

    async def alerts(body: dict[str, Any], ack: Reply, client: AsyncWebClient) -> None:
        await ack()
        await open_form(body, client, home.alerts_form)

    async def digest_menu(body: dict[str, Any], ack: Reply, client: AsyncWebClient) -> None:
        await ack()
        option = action_of(body).get("selected_option")
        value = option.get("value") if isinstance(option, dict) else None
        user, name = user_of(body), name_of(body)
        if not isinstance(value, str) or user is None:
            return
        try:
            chosen = read_action(value[:300], await home.catalog.names())
        except Exception:  # the store: told, never a traceback into Bolt
            log.exception("home: a digest's menu could not be read")
            ack_first.later(home.tell(user, home.notice("modal")))
            return
        if chosen is None:
            ack_first.later(home.unknown_button(user))
            return
        action, digest = chosen
        if action == "edit":
            await open_form(body, client, lambda who: home.form_for(who, digest))
        elif action == "delete":
            await open_form(body, client, lambda who: home.delete_form(who, digest))
        else:
            ack_first.later(home.button(user, name, action, digest))

    async def preset(body: dict[str, Any], ack: Reply, client: AsyncWebClient) -> None:
        await ack()
        option = action_of(body).get("selected_option")
        value = option.get("value") if isinstance(option, dict) else None
        await redraw(body, client, value if isinstance(value, str) else None)

    async def cron_entered(body: dict[str, Any], ack: Reply, client: AsyncWebClient) -> None:
        await ack()
        await redraw(body, client, None)

    async def redraw(body: dict[str, Any], client: AsyncWebClient, preset: str | None) -> None:
        view = view_of(body)
        view_id = view.get("id")
        if not isinstance(view_id, str) or view.get("callback_id") != DIGEST_FORM:
            return
        try:
            found = await home.redraw(view, preset)
            await asyncio.wait_for(
                client.views_update(view_id=view_id, hash=view.get("hash"), view=found),
                MODAL_WAIT,
            )
        except Exception as exc:  # a newer update won (hash_conflict), Slack slow: as typed
            log.info("home: the digest form was not redrawn: %s", exc)

    async def ids(body: dict[str, Any], ack: Reply) -> None:
        action, typed = body.get("action_id"), body.get("value")
        options: list[dict[str, Any]] = []
        if isinstance(action, str) and isinstance(typed, str):
            try:
                options = await asyncio.wait_for(home.id_options(action, typed), OPTIONS_WAIT)
            except Exception as exc:
                log.warning("home: no options for %s: %s", action[:60], exc)
        await ack(options=options)

    async def mention(body: dict[str, Any], ack: Reply) -> None:
        typed = body.get("value")
        options: list[dict[str, Any]] = []
        try:
            text = typed if isinstance(typed, str) else ""
            options = await asyncio.wait_for(home.group_options(text), OPTIONS_WAIT)
        except Exception as exc:
            log.warning("home: no user groups to pick from: %s", exc)
        await ack(options=options)

    def submitted(check: Any) -> Any:
        async def listener(body: dict[str, Any], ack: Reply) -> None:
            user = user_of(body)
            if user is None:
                await ack()
                return
            try:  # answered within Slack's 3 s whatever the store or Slack are doing
                found = await asyncio.wait_for(check(user, name_of(body), view_of(body)), CHECK)
            except Exception as exc:  # the store, a template: said, never a traceback
                log.warning("home: a form's submission could not be checked: %r", exc)
                block = _first_input(view_of(body))
                found = {block: FAILED} if block else _told(home, user)
            if isinstance(found, dict):  # on their blocks, in the form
                await ack(response_action="errors", errors=found)
                return
            await ack()
            ack_first.later(found())

        return listener

    app.event("app_home_opened")(opened)
    app.action("home_add_digest")(add)
    app.action("home_alerts")(alerts)
    app.action(ACTION_ID)(digest_menu)
    app.action(PRESET)(preset)
    app.action(CRON)(cron_entered)
    app.action(SOURCE)(cron_entered)  # another source: its pickers, its names
    app.options(IDS)(ids)
    app.options(MENTION)(mention)
    app.view(DIGEST_FORM)(submitted(home.check_digest))
    app.view(ALERTS_FORM)(submitted(home.check_alerts))
    app.view(DELETE_FORM)(submitted(home.check_delete))
