"""`Home` with a real store and a recorded Slack: what a form's submission changes, and
what it never changes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import AlertRules, Digest, Settings, SlackSettings
from bot.db import Store
from bot.home import modals
from bot.home.service import Home, Wiring
from bot.render import Renderer
from bot.slack import Poster
from bot.slackconfig import queries
from bot.slackconfig.catalog import Catalog
from bot.sources import Sources
from tests.fakes.clock import FakeClock

BERLIN = ZoneInfo("Europe/Berlin")
ADMIN, OTHER = "U0ADMIN", "U0OTHER"
FILE = Digest(name="csat-daily", channel="C0FILE", cron="0 9 * * 1-5", timezone=BERLIN)


class Web:
    """The Web API methods Home and Poster call, recorded; ADMIN is a workspace admin."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def users_info(self, user: str) -> dict[str, Any]:
        return {"ok": True, "user": {"id": user, "is_admin": user == ADMIN}}

    async def views_publish(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("views.publish", kwargs))
        return {"ok": True}

    async def auth_test(self) -> dict[str, Any]:
        return {"ok": True, "url": "https://sim.slack.com/"}

    async def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("chat.postMessage", kwargs))
        return {"ok": True, "ts": "1700000000.000001"}

    def published(self) -> list[str]:
        return [kw["user_id"] for method, kw in self.calls if method == "views.publish"]


@pytest.fixture
def home() -> Any:
    store = Store(":memory:")
    settings = Settings(digests=(FILE,), timezone=BERLIN, slack=SlackSettings(bot_token="x"),
                        alerts=AlertRules(channel="C0FILEALERTS"),
                        alerts_in_file=frozenset({"channel"}))  # fmt: skip
    web = Web()
    clock = FakeClock()
    renderer = Renderer(timezone=BERLIN)
    found = Home(
        settings,
        store,
        Catalog(settings, store),
        Sources({}),
        renderer,
        web,  # type: ignore[arg-type]
        Poster(web),
        Wiring(lambda: None, lambda: None),
        None,
        clock,
    )  # type: ignore[arg-type]
    yield found
    store.close()


def form(home: Home, table: dict[str, Any] | None = None, original: str = "") -> dict[str, Any]:
    """A submitted digest form holding `table` (as typed)."""
    view = home.digest_form(table, original)
    values: dict[str, Any] = {}
    for key, value in (table or {}).items():
        if key in ("skills", "agents", "groups"):
            shown = {"type": "plain_text_input", "value": ",".join(value)}
        elif key == "channel":
            shown = {"type": "conversations_select", "selected_conversation": value}
        elif key in ("kind", "source", "post"):
            shown = {"type": "static_select", "selected_option": {"value": str(value).lower()}}
        else:
            shown = {"type": "plain_text_input", "value": value}
        values[key] = {key: shown}
    return {**view, "state": {"values": values}}


GOOD = {"name": "weekly", "channel": "C0WEEKLY", "cron": "0 9 * * 1", "skills": ["4"],
        "timeframe": "24h"}  # fmt: skip


async def saved(home: Home, table: dict[str, Any], original: str = "") -> Any:
    found = await home.check_digest(ADMIN, "Ada", form(home, table, original))
    assert not isinstance(found, dict), found
    await found()
    await home.drain()


@pytest.mark.anyio
async def test_a_rename_moves_since_so_no_time_of_the_old_name_is_made_up(home: Home) -> None:
    await saved(home, GOOD)
    first = home.store.sync(queries.digests)[0]["since"]
    home.clock.seconds += 600  # type: ignore[attr-defined]
    await saved(home, {**GOOD, "timeframe": "8h"}, original="weekly")
    assert home.store.sync(queries.digests)[0]["since"] == first  # same schedule, same name
    home.clock.seconds += 600  # type: ignore[attr-defined]
    await saved(home, {**GOOD, "name": "weekly-orders"}, original="weekly")
    (row,) = home.store.sync(queries.digests)
    assert row["name"] == "weekly-orders" and row["since"] > first


@pytest.mark.anyio
async def test_an_edit_of_a_digest_deleted_meanwhile_adds_nothing(home: Home) -> None:
    await saved(home, GOOD)
    change = await home.check_digest(ADMIN, "Ada", form(home, {**GOOD, "timeframe": "8h"},
                                                         "weekly"))  # fmt: skip
    assert not isinstance(change, dict)
    home.store.sync(lambda db: queries.delete_digest(db, "weekly", "U0B", "Bo"))
    await change()
    assert home.store.sync(queries.digests) == []
    told = [kw["text"] for method, kw in home.web.calls if method == "chat.postMessage"]  # type: ignore[union-attr]
    assert told == ["There is no digest named weekly any more."]


@pytest.mark.anyio
async def test_a_file_digest_and_a_non_admin_change_nothing(home: Home) -> None:
    found = await home.check_digest(ADMIN, "Ada", form(home, {**GOOD, "name": "csat-daily"},
                                                        "csat-daily"))  # fmt: skip
    assert isinstance(found, dict) and "bot.toml" in found["name"]
    found = await home.check_digest(OTHER, "Olu", form(home, GOOD))
    assert found == {"name": "Only the bot's admins can change digests and alert settings."}
    await home.drain()
    assert home.store.sync(queries.digests) == []
    trail = home.store.sync(queries.history)
    assert [(r["action"], r["user"]) for r in trail] == [("refused", OTHER)]


@pytest.mark.anyio
async def test_the_alerts_form_never_keeps_a_key_the_file_sets(home: Home) -> None:
    view = modals.alerts_view(home.renderer, rules=home.settings.alerts,
                              in_file=home.settings.alerts_in_file)  # fmt: skip
    values = {
        "channel": {"c": {"type": "conversations_select", "selected_conversation": "C0CRAFTED"}},
        "min_answers": {"m": {"type": "number_input", "value": "33"}},
    }
    change = await home.check_alerts(ADMIN, "Ada", {**view, "state": {"values": values}})
    assert not isinstance(change, dict), change
    await change()
    assert home.store.sync(queries.alerts) == {"min_answers": 33}
    rules = await home.catalog.alert_rules()
    assert (rules.channel, rules.rule.min_answers) == ("C0FILEALERTS", 33)


@pytest.mark.anyio
async def test_after_a_change_only_those_who_looked_within_the_hour_see_it_again(
    home: Home,
) -> None:
    await home.publish(ADMIN)
    home.clock.now += timedelta(minutes=50)  # type: ignore[attr-defined]
    await saved(home, GOOD)  # a change: ADMIN's page again
    home.clock.now += timedelta(minutes=50)  # type: ignore[attr-defined]
    await saved(home, {**GOOD, "name": "other"})  # 100 minutes after ADMIN looked: not again
    assert home.web.published() == [ADMIN, ADMIN]  # type: ignore[attr-defined]
    assert json.dumps(home.web.calls[0][1]["view"])  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_one_the_file_shadows_can_be_deleted_and_nothing_else(home: Home) -> None:
    row = {**GOOD, "name": "csat-daily"}  # made in Slack before bot.toml took the name
    home.store.sync(lambda db: queries.save_digest(db, row, ADMIN, "Ada", "", "", True))
    assert await home.form_for(ADMIN, "csat-daily") == "not_from_slack"
    assert await home.pause(ADMIN, "Ada", "csat-daily", True) == "not_from_slack"
    assert await home.form_for(ADMIN, "nope") == "no_digest"
    form = await home.delete_form(ADMIN, "csat-daily")
    assert isinstance(form, dict) and form["callback_id"] == "digest_delete"
    assert await home.delete(ADMIN, "Ada", "csat-daily") == "deleted"
    assert home.store.sync(queries.digests) == []
    assert await home.delete_form(ADMIN, "csat-daily") == "not_from_slack"  # the file's
