"""The simulated Slack's App Home, modal, user, user-group and channel methods, called over
loopback by slack_sdk as the bot calls them, and the request bodies it builds for tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt.request.internals import parse_body
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.demo.sim.slack import SimulatedSlack, event, home_opened, interaction, sign
from bot.web import signed

HOME = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}
MODAL = {
    "type": "modal",
    "callback_id": "digest_edit",
    "title": {"type": "plain_text", "text": "Digest"},
    "blocks": [],
}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatedSlack]:
    """A Slack of this module's own: its admins and user groups are nobody else's."""
    with SimulatedSlack() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def web(sim: SimulatedSlack) -> AsyncIterator[AsyncWebClient]:
    yield AsyncWebClient(token="xoxb-test", base_url=sim.api_url)


async def call(web: AsyncWebClient, method: str, **kwargs: Any) -> dict[str, Any]:
    """The answer's data, whether ok or refused (slack_sdk raises on `ok: false`)."""
    try:
        answer = await getattr(web, method)(**kwargs)
    except SlackApiError as exc:
        return dict(exc.response.data)  # type: ignore[arg-type]
    return dict(answer.data)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_views_are_echoed_with_an_id_and_a_hash_and_recorded_as_dicts(
    sim: SimulatedSlack, web: AsyncWebClient
) -> None:
    before = len(sim.views())
    published = await call(web, "views_publish", user_id="U0LEAD", view=HOME)
    opened = await call(web, "views_open", trigger_id="1.2.3", view=MODAL)
    assert published["ok"] and opened["ok"]
    assert published["view"]["type"] == "home"
    assert published["view"]["blocks"] == HOME["blocks"]
    assert opened["view"]["callback_id"] == "digest_edit"
    for answer in (published, opened):
        assert answer["view"]["id"].startswith("V") and len(answer["view"]["id"]) == 5
        assert answer["view"]["hash"]
    assert published["view"]["id"] != opened["view"]["id"]

    updated = await call(
        web,
        "views_update",
        view_id=opened["view"]["id"],
        hash=opened["view"]["hash"],
        view={**MODAL, "blocks": HOME["blocks"]},
    )
    assert updated["ok"] and updated["view"]["id"] == opened["view"]["id"]
    assert updated["view"]["hash"] != opened["view"]["hash"]
    stale = await call(
        web, "views_update", view_id=opened["view"]["id"], hash=opened["view"]["hash"], view=MODAL
    )
    assert stale == {"ok": False, "error": "hash_conflict"}

    sent = sim.views()[before:]
    assert [type(body["view"]) for body in sent] == [dict] * 4
    assert sim.views("views.publish")[-1] == {"user_id": "U0LEAD", "view": HOME}
    assert sim.views("publish")[-1] == sim.views("views.publish")[-1]
    assert sim.views("open")[-1]["trigger_id"] == "1.2.3"
    assert [body["view"]["blocks"] for body in sim.views("update")[-2:]] == [HOME["blocks"], []]


@pytest.mark.anyio
async def test_a_view_sent_as_a_json_string_is_recorded_as_a_dict(
    sim: SimulatedSlack, web: AsyncWebClient
) -> None:
    answer = await web.api_call(
        "views.publish", data={"user_id": "U0FORM", "view": json.dumps(HOME)}
    )
    assert answer["view"]["type"] == "home"
    assert sim.views("publish")[-1] == {"user_id": "U0FORM", "view": HOME}


@pytest.mark.anyio
async def test_users_info_says_who_is_a_workspace_admin(
    sim: SimulatedSlack, web: AsyncWebClient
) -> None:
    def roles(answer: dict[str, Any]) -> tuple[bool, bool]:
        return answer["user"]["is_admin"], answer["user"]["is_owner"]

    admin = await call(web, "users_info", user="U0ADMIN")
    assert admin["ok"] and roles(admin) == (True, False)
    assert set(admin["user"]) >= {"id", "name", "real_name", "is_admin", "is_owner", "tz"}
    assert roles(await call(web, "users_info", user="U0OWNER")) == (True, True)
    assert roles(await call(web, "users_info", user="U0LEAD")) == (False, False)
    assert roles(await call(web, "users_info", user="anything at all")) == (False, False)
    assert await call(web, "users_info", user="U0GONE") == {
        "ok": False,
        "error": "user_not_found",
    }
    sim.workspace_admins.add("U0NEW")
    try:
        assert roles(await call(web, "users_info", user="U0NEW")) == (True, False)
    finally:
        sim.workspace_admins.discard("U0NEW")


@pytest.mark.anyio
async def test_user_groups_and_their_members(sim: SimulatedSlack, web: AsyncWebClient) -> None:
    listed = await call(web, "usergroups_list")
    assert listed["ok"]
    assert [(g["id"], g["handle"]) for g in listed["usergroups"]] == [("S0LEADS", "support-leads")]
    assert set(listed["usergroups"][0]) >= {"id", "handle", "name"}
    assert await call(web, "usergroups_users_list", usergroup="S0LEADS") == {
        "ok": True,
        "users": ["U0LEAD"],
    }
    assert await call(web, "usergroups_users_list", usergroup="S0NONE") == {
        "ok": False,
        "error": "no_such_subteam",
    }
    sim.usergroups["S0NIGHT"] = ("night-shift", ["U0A", "U0B"])
    try:
        listed = await call(web, "usergroups_list")
        assert [g["id"] for g in listed["usergroups"]] == ["S0LEADS", "S0NIGHT"]
        members = await call(web, "usergroups_users_list", usergroup="S0NIGHT")
        assert members["users"] == ["U0A", "U0B"]
    finally:
        del sim.usergroups["S0NIGHT"]


@pytest.mark.parametrize(
    ("channel", "member", "private", "archived"),
    [
        ("C0LEADS00", True, False, False),
        ("C0NOTIN01", False, False, False),
        ("C0ARCHIVED1", True, False, True),
        ("G0PRIVATE1", True, True, False),
    ],
)
@pytest.mark.anyio
async def test_conversations_info_says_what_the_channel_is(
    web: AsyncWebClient, channel: str, member: bool, private: bool, archived: bool
) -> None:
    answer = await call(web, "conversations_info", channel=channel)
    assert answer["ok"]
    found = answer["channel"]
    assert found["id"] == channel and found["name"]
    assert (found["is_member"], found["is_private"], found["is_archived"]) == (
        member,
        private,
        archived,
    )


@pytest.mark.parametrize("channel", ["C0GONE0001", "G0NOTIN001"])
@pytest.mark.anyio
async def test_a_channel_missing_or_private_without_the_bot_is_not_found(
    web: AsyncWebClient, channel: str
) -> None:
    answer = await call(web, "conversations_info", channel=channel)
    assert answer == {"ok": False, "error": "channel_not_found"}


@pytest.mark.anyio
async def test_an_invalid_token_is_refused_by_the_new_methods_too(sim: SimulatedSlack) -> None:
    web = AsyncWebClient(token="xoxb-invalid", base_url=sim.api_url)
    for method, kwargs in [
        ("users_info", {"user": "U0ADMIN"}),
        ("usergroups_list", {}),
        ("conversations_info", {"channel": "C0LEADS00"}),
        ("views_publish", {"user_id": "U0LEAD", "view": HOME}),
    ]:
        assert await call(web, method, **kwargs) == {"ok": False, "error": "invalid_auth"}


def test_an_interaction_is_the_payload_form_field_bolt_reads() -> None:
    payload = {"type": "view_submission", "user": {"id": "U0ADMIN"}, "view": MODAL}
    body = interaction(payload)
    assert parse_qs(body) == {"payload": [json.dumps(payload)]}
    assert parse_body(body, "application/x-www-form-urlencoded") == payload
    headers = {k.lower(): v for k, v in sign("secret", body).items()}
    assert signed(SignatureVerifier("secret"), headers, body)


def test_an_event_is_an_event_callback_bolt_reads() -> None:
    body = event({"type": "app_home_opened", "user": "U0X"}, team="T0OTHER")
    read = parse_body(body, "application/json")
    assert read["type"] == "event_callback"
    assert read["team_id"] == "T0OTHER"
    assert read["api_app_id"] and read["event_id"].startswith("Ev")
    assert isinstance(read["event_time"], int)
    assert read["event"] == {"type": "app_home_opened", "user": "U0X"}
    assert json.loads(event({"type": "x"}))["event_id"] != read["event_id"]


def test_home_opened_is_the_app_home_opened_event_of_that_user() -> None:
    read = json.loads(home_opened("U0LEAD"))
    assert read["type"] == "event_callback" and read["team_id"] == "T0SIM"
    assert read["event"] == {
        "type": "app_home_opened",
        "user": "U0LEAD",
        "channel": "D0HOME",
        "tab": "home",
    }
