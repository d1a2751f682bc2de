"""Hostile tables against every entry point of the Home tab in `serve`: signed events,
clicks, picker requests and form submissions carrying mentions, control characters, lone
surrogates, huge numbers and huge bodies, from an admin and from a teammate.

Whatever arrives: Slack gets its answer (200, in time; never 500), a bad form is answered
only on that form's own input blocks or closes, nothing is stored unless an admin sent a
fully valid form, nothing the bot posts or publishes calls anyone in, a body over the
limit is refused like any other, and the process is alive with a log free of tracebacks.
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack, event, interaction, sign
from bot.web import MAX_SLACK_BODY
from tests.fakes.hostile import pings
from tests.fakes.process import SECRET, RunningBot

LEAD = "U0LEAD"  # a member of S0LEADS, the user group `[slack] admins` names
ADMINS = [LEAD, *(f"U0LEAD{n:03d}" for n in range(300))]  # each its own DM with the app
FILE_CHANNEL, SLACK_CHANNEL, ALERTS_CHANNEL = "C0HOMEFILE", "C0SLACKMADE", "C0ALERTS"
MADE = "slack-made"  # the digest an admin makes in Slack before the tables run
CONFIG = f"""
timezone = "UTC"
default_source = "liveperson"

[slack]
admins = ["S0LEADS"]

[[digest]]
name = "csat-daily"
channel = "{FILE_CHANNEL}"
cron = "0 9 * * 1-5"
skills = "all"
"""
ACK_SECONDS = 3.0  # Slack shows an error when the answer takes longer
_admins = itertools.count(1)
_mates = itertools.count(1)
_triggers = itertools.count(1)
_views = itertools.count(1)


def admin() -> str:
    """A fresh admin: a DM of their own, so the bot's pace per channel holds nobody up."""
    return ADMINS[next(_admins)]


def mate() -> str:
    """A fresh teammate who is no admin."""
    return f"U0MATE{next(_mates):03d}"


# --- hostile values ---

TEXTS: list[tuple[str, str]] = [
    ("channel", "<!channel>"),
    ("here", "<!here>"),
    ("everyone", "<!everyone>"),
    ("user-mention", "<@U0ATTACK>"),
    ("user-mention-label", "<@W0ATTACK|boss>"),
    ("channel-link", "<#C0ATTACK>"),
    ("subteam", "<!subteam^S0ATTACK|@leads>"),
    ("link", "<https://evil.example|click me>"),
    ("nul", "a\x00b"),
    ("escape-del", "\x1b[31mred\x7f"),
    ("c1-controls", "\x85\x9f"),
    ("line-breaks", "line\r\nbreak\u2028"),
    ("bidi-mention", "\u202e<!here>\u202c"),
    ("lone-surrogate", "\ud800"),
    ("surrogate-inside", "ok\udfffname"),
    ("cut-emoji-mention", "<!channel>\ud83d"),
    ("huge", "x" * 10_000),
    ("huge-mentions", "<!channel>" * 1_000),
    ("digits", "9" * 5_000),
    ("jinja", "{{ 7*7 }}{% raw %}"),
    ("yaml", "!!python/object/apply:os.system ['id']"),
    ("empty", ""),
]
NON_TEXTS: list[tuple[str, Any]] = [
    ("int", 12345),
    ("float-1e308", 1e308),
    ("int-401-digits", 10**400),
    ("null", None),
    ("object", {"id": LEAD}),
    ("list", [LEAD]),
    ("bool", True),
]
ANY_VALUE = [*TEXTS, *NON_TEXTS]


def labels(table: list[tuple[Any, ...]]) -> list[str]:
    return [str(row[0]) for row in table]


# --- the running bot ---


@dataclass
class Forms:
    """The forms as the bot opened them for an admin, and what was stored before the tables."""

    digest: dict[str, Any]
    alerts: dict[str, Any]
    delete: dict[str, Any]
    baseline: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]

    def inputs(self, callback: str) -> set[str]:
        form = {"digest_edit": self.digest, "alerts_edit": self.alerts}.get(callback, self.delete)
        return {b["block_id"] for b in form["blocks"] if b.get("type") == "input"}


@pytest.fixture(scope="module")
def own_slack() -> Iterator[SimulatedSlack]:
    with SimulatedSlack() as server:
        server.usergroups["S0LEADS"] = ("support-leads", list(ADMINS))
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
def home_bot(
    own_slack: SimulatedSlack,
    liveperson: SimulatedLivePerson,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningBot]:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": own_slack.api_url, "BOT_SCHEDULER": "off", "BOT_VENDOR_TIMEOUT": "2",
        **liveperson.env(),
    }  # fmt: skip
    running = RunningBot(env, tmp_path_factory.mktemp("home-hostile"), config=CONFIG)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def forms(home_bot: RunningBot, own_slack: SimulatedSlack) -> Forms:
    """An admin opens the three forms and makes one digest in Slack, whose skill ids are
    hostile text the file's rules allow: the tables run against that state."""
    digest = opened(home_bot, own_slack, LEAD, {"action_id": "home_add_digest", "value": "add"})
    alerts = opened(home_bot, own_slack, LEAD, {"action_id": "home_alerts", "value": "alerts"})
    assert digest["callback_id"] == "digest_edit" and alerts["callback_id"] == "alerts_edit"
    made = {
        **good_digest(),
        "name": text_input("name", MADE),
        "channel": {"channel": {"type": "conversations_select",
                                "selected_conversation": SLACK_CHANNEL}},
        "skills": {"digest_ids|skill|liveperson": {
            "type": "multi_external_select",
            "selected_options": [option("<!channel>"), option("<@U0ATTACK>"), option("4")],
        }},
    }  # fmt: skip
    answer = acked(home_bot, submission(LEAD, form_view(digest, made)))
    assert said(answer) is None, answer.text[:300]
    wait_for(lambda: stored(home_bot)[0])
    menu = {"action_id": "home_digest", "type": "overflow",
            "selected_option": {"value": f"delete|{MADE}"}}  # fmt: skip
    delete = opened(home_bot, own_slack, LEAD, menu)
    assert delete["callback_id"] == "digest_delete" and delete["private_metadata"] == MADE
    return Forms(digest, alerts, delete, stored(home_bot))


# --- requests ---


def send(bot: RunningBot, body: str, json_body: bool = False) -> tuple[httpx.Response, float]:
    """A signed request to /slack/events; the answer and how long it took."""
    headers = sign(SECRET, body)
    if json_body:
        headers["Content-Type"] = "application/json"
    started = time.monotonic()
    answer = bot.http.post("/slack/events", content=body.encode(), headers=headers)
    return answer, time.monotonic() - started


def acked(
    bot: RunningBot, body: str, json_body: bool = False, refusable: bool = False
) -> httpx.Response:
    """The request answered as Slack needs: 200, within its 3 s, the process alive. A
    payload no Slack sends (`refusable`) may be refused as one, 400, like any body Bolt
    cannot read; never 500."""
    answer, took = send(bot, body, json_body)
    allowed = (200, 400) if refusable else (200,)
    assert answer.status_code in allowed, (answer.status_code, answer.text[:300])
    assert took < ACK_SECONDS, f"answered in {took:.2f} s"
    assert bot.proc.poll() is None, "the bot exited"
    return answer


def said(answer: httpx.Response) -> Any:
    """The ack's JSON, or None for an empty one (a form that closes)."""
    return answer.json() if answer.content.strip(b"{} \n") else None


def person(user: Any, name: Any = None) -> dict[str, Any]:
    shown = name if name is not None else user
    return {"id": user, "username": str(shown).lower()[:80], "name": shown, "team_id": "T0SIM"}


def click(
    user: str, action: dict[str, Any], view: Any = None, *, trigger: Any = None,
    omit_view: bool = False, who: Any = None,
) -> str:  # fmt: skip
    payload: dict[str, Any] = {
        "type": "block_actions", "user": who if who is not None else person(user),
        "api_app_id": "A0BOT", "team": {"id": "T0SIM"},
        "trigger_id": trigger if trigger is not None else f"trig.{next(_triggers)}",
        "container": {"type": "view"}, "actions": [{"type": "button", **action}],
    }  # fmt: skip
    if not omit_view:
        payload["view"] = view if view is not None else {"id": "VHOME", "type": "home"}
    return interaction(payload)


def suggestion(
    user: str, action_id: str, value: Any, *, omit_value: bool = False, who: Any = None
) -> str:
    payload: dict[str, Any] = {
        "type": "block_suggestion", "user": who if who is not None else person(user),
        "api_app_id": "A0BOT", "team": {"id": "T0SIM"}, "action_id": action_id,
        "block_id": "skills",
        "container": {"type": "view"}, "view": {"id": "VFORM", "type": "modal"},
    }  # fmt: skip
    if not omit_value:
        payload["value"] = value
    return interaction(payload)


def submission(user: str, view: dict[str, Any], name: Any = None, who: Any = None) -> str:
    return interaction({
        "type": "view_submission", "user": who if who is not None else person(user, name),
        "api_app_id": "A0BOT", "team": {"id": "T0SIM"},
        "trigger_id": f"trig.{next(_triggers)}", "view": view,
    })  # fmt: skip


def home_opened(user: Any, tab: Any = "home") -> str:
    return event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": tab})


def opened(bot: RunningBot, slack: SimulatedSlack, user: str, action: dict[str, Any]) -> Any:
    """The form a click opens, as Slack keeps it (with its id and hash)."""
    trigger = f"trig.{next(_triggers)}"
    acked(bot, click(user, action, trigger=trigger))
    return wait_for(lambda: next((v["view"] for v in sent(slack, "views.open")
                                  if v.get("trigger_id") == trigger), None))  # fmt: skip


# --- forms and their state ---


def option(value: Any) -> dict[str, Any]:
    return {"value": value, "text": {"type": "plain_text", "text": str(value)[:75]}}


def text_input(action_id: str, value: Any) -> dict[str, Any]:
    return {action_id: {"type": "plain_text_input", "value": value}}


def select(action_id: str, value: Any) -> dict[str, Any]:
    return {action_id: {"type": "static_select", "selected_option": option(value)}}


def good_digest() -> dict[str, Any]:
    """A digest form's state that would be saved as it is: every case breaks it somewhere."""
    return {
        "name": text_input("name", "hostile-new"),
        "kind": select("kind", "csat"),
        "source": {"digest_source": {"type": "static_select", "selected_option": None}},
        "channel": {"channel": {"type": "conversations_select",
                                "selected_conversation": FILE_CHANNEL}},
        "cron": text_input("cron", "0 9 * * 1-5"),
        "timezone": text_input("timezone", None),
        "skills": {"digest_ids|skill|liveperson": {"type": "multi_external_select",
                                                   "selected_options": [option("4")]}},
        "timeframe": text_input("timeframe", "24h"),
        "post": {"post": {"type": "radio_buttons", "selected_option": option("true")}},
        "template": text_input("template", None),
    }  # fmt: skip


def good_alerts() -> dict[str, Any]:
    """An alerts form's state that would be saved as it is."""
    numbers = {"min_answers": "20", "drop_points": "5", "confidence": None,
               "worse_points": None, "drop_share": None, "away_points": None}  # fmt: skip
    return {
        "channel": {"channel": {"type": "conversations_select",
                                "selected_conversation": ALERTS_CHANNEL}},
        "mention": {"alerts_mention": {"type": "external_select",
                                       "selected_option": option("none")}},
        **{k: {k: {"type": "number_input", "value": v}} for k, v in numbers.items()},
    }  # fmt: skip


def form_view(
    form: dict[str, Any], values: Any, *, metadata: Any = None, state: Any = None,
    view_id: str = "VFORM",
) -> dict[str, Any]:  # fmt: skip
    """`form` as Slack submits it: `values` as view.state.values (or `state` as view.state)."""
    view = {**form, "id": view_id, "hash": "h.1"}
    view["state"] = state if state is not None else {"values": values}
    if metadata is not None:
        view["private_metadata"] = metadata
    return view


def ids(count: int) -> list[dict[str, Any]]:
    return [{"value": str(n)} for n in range(count)]


BROKEN = object()  # a value left out; first in a list, the view.state that replaces it
DIGEST_CASES: list[tuple[str, dict[str, Any], Any]] = [
    # (label, blocks replaced in the good state, private_metadata)
    ("name <!channel>", {"name": text_input("name", "<!channel>")}, None),
    ("name <@U0ATTACK>", {"name": text_input("name", "a<@U0ATTACK>b")}, None),
    ("name with NUL", {"name": text_input("name", "ok\x00name")}, None),
    ("name lone surrogate", {"name": text_input("name", "\ud800")}, None),
    ("name 10,000 characters", {"name": text_input("name", "x" * 10_000)}, None),
    ("name a number", {"name": text_input("name", 12345)}, None),
    ("name of the file's digest", {"name": text_input("name", "csat-daily")}, None),
    ("10,000 skills picked", {"skills": {"digest_ids|skill|liveperson": {
        "type": "multi_external_select", "selected_options": ids(10_000)}}}, None),
    ("10,000 skills typed", {"skills": text_input(
        "skills", ", ".join(str(n) for n in range(10_000)))}, None),
    ("a skill with a lone surrogate", {"skills": {"digest_ids|skill|liveperson": {
        "type": "multi_external_select", "selected_options": [option("4\ud800")]}}}, None),
    ("a skill that is a number", {"skills": {"digest_ids|skill|liveperson": {
        "type": "multi_external_select", "selected_options": [{"value": 10**400}]}}}, None),
    ("all and ids", {"skills": {"digest_ids|skill|liveperson": {
        "type": "multi_external_select", "selected_options": [option("all"), option("4")]}}},
     None),
    ("skills and agents", {"agents": {"digest_ids|agent|liveperson": {
        "type": "multi_external_select", "selected_options": [option("7")]}}}, None),
    ("timeframe 99999999999d", {"timeframe": text_input("timeframe", "99999999999d")}, None),
    ("timeframe 1e308 number", {"timeframe": text_input("timeframe", 1e308)}, None),
    ("timeframe 5,000 digits", {"timeframe": text_input("timeframe", "9" * 5_000)}, None),
    ("cron 10,000 characters", {"cron": text_input("cron", "* " * 5_000)}, None),
    ("cron <!channel>", {"cron": text_input("cron", "<!channel> * * * *")}, None),
    ("cron 10**400 number", {"cron": text_input("cron", 10**400)}, None),
    ("cron step 0", {"cron": text_input("cron", "*/0 * * * *")}, None),
    ("cron huge range", {"cron": text_input("cron", "0-99999999999999999999 * * * *")}, None),
    ("channel <!channel>", {"channel": {"channel": {
        "type": "conversations_select", "selected_conversation": "<!channel>"}}}, None),
    ("channel typed #leads", {"channel": text_input("channel", "#leads")}, None),
    ("channel a number", {"channel": {"channel": {
        "type": "conversations_select", "selected_conversation": 10**400}}}, None),
    ("timezone <!here>", {"timezone": text_input("timezone", "<!here>")}, None),
    ("timezone lone surrogate", {"timezone": text_input("timezone", "\ud800")}, None),
    ("timezone a path", {"timezone": text_input("timezone", "../../../../etc/passwd")}, None),
    ("kind <!channel>", {"kind": select("kind", "<!channel>")}, None),
    ("source <!channel>", {"source": {"digest_source": {
        "type": "static_select", "selected_option": option("<!channel>")}}}, None),
    ("post maybe", {"post": {"post": {"type": "radio_buttons",
                                      "selected_option": option("maybe")}}}, None),
    ("template <!channel>", {"template": text_input("template", "<!channel>")}, None),
    ("template a path", {"template": text_input("template", "../../../../etc/passwd")}, None),
    ("a block that is a list", {"name": ["<!channel>"]}, None),
    ("a block whose state is text", {"cron": {"cron": "<!channel>"}}, None),
    ("state a list", {}, [BROKEN, []]),
    ("state a string", {}, [BROKEN, "<!channel>"]),
    ("values a list", {}, [BROKEN, {"values": []}]),
    ("values a string", {}, [BROKEN, {"values": "\ud800"}]),
    ("metadata the file's digest", {}, "csat-daily"),
    ("metadata lone surrogate", {}, "\ud800"),
    ("metadata <!channel>", {}, "<!channel>"),
    ("metadata 100,000 characters", {}, "x" * 100_000),
    ("metadata a number, name taken", {"name": text_input("name", MADE)}, 12345),
    ("metadata of Slack's digest, bad cron", {"cron": text_input("cron", "<!here>")}, MADE),
    ("metadata of Slack's digest, renamed to the file's",
     {"name": text_input("name", "csat-daily")}, MADE),
]  # fmt: skip
ALERT_CASES: list[tuple[str, dict[str, Any]]] = [
    *(
        (f"min_answers {label}", {"min_answers": {"min_answers": {
            "type": "number_input", "value": value}}})
        for label, value in [
            ("1e308 number", 1e308), ("10**400 number", 10**400), ("1e308 text", "1e308"),
            ("20 digits", "99999999999999999999"), ("5,000 digits", "9" * 5_000),
            ("-1", "-1"), ("NaN", "NaN"), ("<!channel>", "<!channel>"), ("surrogate", "\ud800"),
            ("object", {"value": "20"}),
        ]
    ),
    ("drop_points 1e308", {"drop_points": {"drop_points": {
        "type": "number_input", "value": "1e308"}}}),
    ("drop_points 10**400 number", {"drop_points": {"drop_points": {
        "type": "number_input", "value": 10**400}}}),
    ("confidence past 0.9999", {"confidence": {"confidence": {
        "type": "number_input", "value": "0.99999999999999"}}}),
    ("drop_share Infinity", {"drop_share": {"drop_share": {
        "type": "number_input", "value": "Infinity"}}}),
    ("away_points <!here>", {"away_points": {"away_points": {
        "type": "number_input", "value": "<!here>"}}}),
    ("channel <!channel>", {"channel": {"channel": {
        "type": "conversations_select", "selected_conversation": "<!channel>"}}}),
    ("channel a number", {"channel": {"channel": {
        "type": "conversations_select", "selected_conversation": 1e308}}}),
    ("mention with text", {"mention": select("alerts_mention", "<!channel> hi")}),
    ("mention 10,000 characters", {"mention": select("alerts_mention", "<!here>" * 1_500)}),
    ("mention lone surrogate", {"mention": select("alerts_mention", "<!subteam^S0X\ud800>")}),
    ("mention a number", {"mention": select("alerts_mention", 12345)}),
    ("a block that is text", {"channel": "<!channel>"}),
    ("state a list", {"": [BROKEN, []]}),
    ("state a string", {"": [BROKEN, "<!channel>"]}),
    ("values a list", {"": [BROKEN, {"values": []}]}),
]  # fmt: skip
DELETE_CASES: list[tuple[str, Any]] = [
    ("the file's digest", "csat-daily"),
    ("lone surrogate", "\ud800"),
    ("<!channel>", "<!channel>"),
    ("100,000 characters", "x" * 100_000),
    ("a number", 12345),
    ("an object", {"name": MADE}),
    ("missing", None),
]
HOSTILE_NAMES: list[tuple[str, Any]] = [
    ("<!channel>", "<!channel>"),
    ("lone surrogate", "lead\ud800"),
    ("control characters", "lead\x00\x1b"),
    ("10,000 characters", "x" * 10_000),
    ("a number", 10**400),
    ("an object", {"name": "<!here>"}),
]


def digest_submission(forms: Forms, blocks: dict[str, Any], metadata: Any) -> dict[str, Any]:
    if isinstance(metadata, list) and metadata and metadata[0] is BROKEN:
        return form_view(forms.digest, None, state=metadata[1])
    values = {**good_digest(), **blocks}
    return form_view(forms.digest, values, metadata=metadata)


def alerts_submission(forms: Forms, blocks: dict[str, Any]) -> dict[str, Any]:
    broken = blocks.get("")
    if isinstance(broken, list) and broken[0] is BROKEN:
        return form_view(forms.alerts, None, state=broken[1])
    return form_view(forms.alerts, {**good_alerts(), **blocks})


def delete_submission(forms: Forms, metadata: Any) -> dict[str, Any]:
    view = {**forms.delete, "id": "VDELETE", "hash": "h.1", "state": {"values": {}}}
    view.pop("private_metadata", None)
    if metadata is not None:
        view["private_metadata"] = metadata
    return view


# --- what must hold ---


def wait_for(found: Callable[[], Any], limit: float = 10.0) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if value := found():
            return value
        time.sleep(0.02)
    raise TimeoutError("not seen in time")


def stored(bot: RunningBot) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """What the Home tab has saved: every digest made in Slack, and the alert settings."""
    with closing(sqlite3.connect(bot.log.parent / "bot.db")) as db:
        digests = db.execute(
            "select name, digest, paused, updated_at from config_digests order by name"
        ).fetchall()
        alerts = db.execute("select alerts, updated_at from config_alerts").fetchall()
    return digests, alerts


def log_at(bot: RunningBot) -> int:
    return bot.log.stat().st_size


def log_since(bot: RunningBot, offset: int) -> str:
    with bot.log.open("rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def no_traceback(bot: RunningBot, offset: int) -> None:
    written = log_since(bot, offset)
    assert "Traceback" not in written, written[-3000:]
    assert bot.proc.poll() is None, "the bot exited"


# the bot's own: links to the channels of real digests, the people who clicked, its workspace
OWN = re.compile(
    rf"<#(?:{FILE_CHANNEL}|{SLACK_CHANNEL}|{ALERTS_CHANNEL})>|<@U0(?:LEAD|MATE)\d*>"
    r"|<https://sim\.slack\.com/"
)


def texts(value: Any) -> Iterator[str]:
    """Every text Slack shows of a message or view: each text object's, at any depth."""
    if isinstance(value, dict):
        if value.get("type") in ("mrkdwn", "plain_text") and isinstance(value.get("text"), str):
            yield value["text"]
        for key, inner in value.items():
            if key not in ("initial_value", "value", "private_metadata"):
                yield from texts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from texts(inner)


def calling(text: str) -> bool:
    """Whether `text` still mentions someone or links somewhere, past the bot's own links."""
    return pings(OWN.sub("", text))


def nothing_calls_anyone(slack: SimulatedSlack) -> None:
    for post in sent(slack, "chat.postMessage"):
        shown = [str(post.get("text") or ""), *texts(post.get("blocks"))]
        bad = [t for t in shown if calling(t)]
        assert not bad, (post.get("channel"), bad[0][:300])
    views = [*sent(slack, "views.publish"), *sent(slack, "views.open")]
    for call in [*views, *sent(slack, "views.update")]:
        bad = [t for t in texts(call.get("view")) if calling(t)]
        assert not bad, (call.get("user_id") or call.get("view_id"), bad[0][:300])


_DECODED: dict[str, list[dict[str, Any]]] = {}  # each call's body, decoded once


def sent(slack: SimulatedSlack, method: str) -> list[dict[str, Any]]:
    """The bodies of the bot's calls to one Web API method, `view` and `blocks` decoded."""
    path = f"/api/{method}"
    calls = [c for c in slack.calls_to(path) if c.path == path]
    done = _DECODED.setdefault(path, [])
    for call in calls[len(done) :]:
        body = call.data()
        for key in ("view", "blocks"):
            if isinstance(body.get(key), str):
                body[key] = json.loads(body[key])
        done.append(body)
    return done


def dms(slack: SimulatedSlack, user: str) -> int:
    """How many messages the bot sent `user` alone (their DM with the app)."""
    return sum(1 for post in sent(slack, "chat.postMessage") if post.get("channel") == user)


def audited(bot: RunningBot, user: str, at: int) -> None:
    """A teammate's refusal is written after the ack: wait for its row, or the log's word
    that it could not be written."""

    def done() -> bool:
        with closing(sqlite3.connect(bot.log.parent / "bot.db")) as db:
            rows = db.execute(
                "select count(*) from config_audit where user = ? and action = 'refused'", [user]
            ).fetchone()[0]
        return bool(rows) or "Traceback" in log_since(bot, at)

    wait_for(done, limit=5.0)


# --- app_home_opened ---


@pytest.mark.parametrize(("label", "user"), ANY_VALUE, ids=labels(ANY_VALUE))
def test_home_opened_by_a_hostile_user(
    home_bot: RunningBot, own_slack: SimulatedSlack, forms: Forms, label: str, user: Any
) -> None:
    at, published = log_at(home_bot), len(sent(own_slack, "views.publish"))
    acked(home_bot, home_opened(user), json_body=True, refusable=not isinstance(user, str))
    sentinel = admin()  # published after the hostile one, if that one was
    acked(home_bot, home_opened(sentinel), json_body=True)
    wait_for(lambda: any(v.get("user_id") == sentinel
                         for v in sent(own_slack, "views.publish")[published:]))  # fmt: skip
    if isinstance(user, str):  # the page of no admin, for whoever Slack names
        mine = wait_for(lambda: [v for v in sent(own_slack, "views.publish")[published:]
                                 if v.get("user_id") == user])  # fmt: skip
        page = json.dumps(mine[-1]["view"])
        assert "home_add_digest" not in page and "home_alerts" not in page
    else:
        assert all(v.get("user_id") != user for v in sent(own_slack, "views.publish")[published:])
    no_traceback(home_bot, at)
    assert stored(home_bot) == forms.baseline


TABS: list[tuple[str, Any]] = [
    ("messages", "messages"), ("HOME", "HOME"), ("home with NUL", "home\x00"),
    *((f"tab {label}", value) for label, value in ANY_VALUE),
    ("missing", BROKEN),
]  # fmt: skip


@pytest.mark.parametrize(("label", "tab"), TABS, ids=labels(TABS))
def test_home_opened_on_a_hostile_tab_publishes_nothing(
    home_bot: RunningBot, own_slack: SimulatedSlack, forms: Forms, label: str, tab: Any
) -> None:
    at, published = log_at(home_bot), len(sent(own_slack, "views.publish"))
    user = mate()
    body: dict[str, Any] = {"type": "app_home_opened", "user": user, "channel": "D0HOME"}
    if tab is not BROKEN:
        body["tab"] = tab
    acked(home_bot, event(body), json_body=True)
    sentinel = mate()
    acked(home_bot, home_opened(sentinel), json_body=True)
    wait_for(lambda: any(v.get("user_id") == sentinel
                         for v in sent(own_slack, "views.publish")[published:]))  # fmt: skip
    assert all(v.get("user_id") != user for v in sent(own_slack, "views.publish")[published:])
    no_traceback(home_bot, at)


# --- the buttons that open a form ---

BUTTON_CASES: list[tuple[str, str, Any, Any, bool]] = [
    # (label, who clicks, trigger_id (None: a fresh one), user object (None: theirs), opens)
    ("an admin", "admin", None, None, True),
    ("an admin, no trigger_id", "admin", 12345, None, False),
    ("an admin, a 10,000-character trigger_id", "admin", "t" * 10_000, None, True),
    ("an admin, a trigger_id with a surrogate", "admin", "trig.\ud800", None, True),
    ("a teammate", "mate", None, None, False),
    ("a user id <!channel>", "admin", None, person("<!channel>"), False),
    ("a user id with a surrogate", "admin", None, person("U0LEAD\ud800"), False),
    ("a user id of 10,000 characters", "admin", None, person("U" * 10_000), False),
    ("a user id a number", "admin", None, person(10**400), False),
    ("a user a string", "admin", None, LEAD, False),
    ("a user a list", "admin", None, [LEAD], False),
    ("a user a number", "admin", None, 12345, False),
    ("a user true", "admin", None, True, False),
    ("a user id a list", "admin", None, person([LEAD]), False),
]  # fmt: skip


FORM_OF = {"home_add_digest": "digest_edit", "home_alerts": "alerts_edit"}


@pytest.mark.parametrize("action_id", list(FORM_OF))
@pytest.mark.parametrize(
    ("label", "who", "trigger", "user", "opens"), BUTTON_CASES, ids=labels(BUTTON_CASES)
)
def test_form_buttons_with_hostile_clicks(
    home_bot: RunningBot, own_slack: SimulatedSlack, forms: Forms, action_id: str, label: str,
    who: str, trigger: Any, user: Any, opens: bool,
) -> None:  # fmt: skip
    at, before = log_at(home_bot), len(sent(own_slack, "views.open"))
    clicker = admin() if who == "admin" else mate()
    trigger = trigger if trigger is not None else f"trig.{next(_triggers)}"
    told = dms(own_slack, clicker)
    action = {"action_id": action_id, "value": "<!channel>" * 100, "block_id": "\ud800"}
    malformed = user is not None and not isinstance(user, dict)
    acked(home_bot, click(clicker, action, trigger=trigger, who=user), refusable=malformed)
    if opens:
        form = wait_for(lambda: [v["view"] for v in sent(own_slack, "views.open")[before:]
                                 if v.get("trigger_id") == trigger])[-1]  # fmt: skip
        assert form["callback_id"] == FORM_OF[action_id]
    elif who == "mate":  # told why in their DM, and no form
        wait_for(lambda: dms(own_slack, clicker) > told)
        assert all(v.get("trigger_id") != trigger for v in sent(own_slack, "views.open")[before:])
    else:  # views.open, had there been one, came before the ack
        assert all(v.get("trigger_id") != trigger for v in sent(own_slack, "views.open")[before:])
    no_traceback(home_bot, at)
    assert stored(home_bot) == forms.baseline


# --- a digest's menu ---

MENU_CASES: list[tuple[str, str, Any]] = [
    # (label, who, the selected option (BROKEN: none))
    ("unknown action", "admin", option("frobnicate|csat-daily")),
    ("no bar", "admin", option("edit")),
    ("bar only", "admin", option("|")),
    ("empty", "admin", option("")),
    ("delete the file's digest", "admin", option("delete|csat-daily")),
    ("edit the file's digest", "admin", option("edit|csat-daily")),
    ("pause the file's digest", "admin", option("pause|csat-daily")),
    ("delete <!channel>", "admin", option("delete|<!channel>")),
    ("pause an escaped mention", "admin", option("pause|&lt;!channel&gt;")),
    ("10,000 characters", "admin", option("x" * 10_000)),
    ("delete 10,000 characters", "admin", option("delete|" + "x" * 10_000)),
    ("pause Slack's digest, padded", "admin", option(f"pause|{MADE}" + " " * 10_000)),
    ("preview a lone surrogate", "admin", option("preview|\ud800")),
    ("delete Slack's digest + surrogate", "admin", option(f"delete|{MADE}\ud800")),
    ("send the file's digest + NUL", "admin", option("send|csat-daily\x00")),
    ("pause Slack's digest + escape", "admin", option(f"pause|{MADE}\x1b")),
    ("a number", "admin", {"value": 12345}),
    ("1e308", "admin", {"value": 1e308}),
    ("null value", "admin", {"value": None}),
    ("an object value", "admin", {"value": {"value": f"pause|{MADE}"}}),
    ("no selected_option", "admin", BROKEN),
    ("selected_option a string", "admin", f"pause|{MADE}"),
    ("selected_option a list", "admin", [option(f"pause|{MADE}")]),
    ("teammate pauses Slack's digest", "mate", option(f"pause|{MADE}")),
    ("teammate deletes Slack's digest", "mate", option(f"delete|{MADE}")),
    ("teammate edits Slack's digest", "mate", option(f"edit|{MADE}")),
    ("teammate sends the file's digest", "mate", option("send|csat-daily")),
    ("teammate previews the file's digest", "mate", option("preview|csat-daily")),
    ("teammate, unknown action", "mate", option("frobnicate|x")),
]  # fmt: skip


@pytest.mark.parametrize(("label", "who", "chosen"), MENU_CASES, ids=labels(MENU_CASES))
def test_digest_menu_with_hostile_values(
    home_bot: RunningBot, own_slack: SimulatedSlack, forms: Forms, label: str, who: str,
    chosen: Any,
) -> None:  # fmt: skip
    at, before = log_at(home_bot), len(sent(own_slack, "views.open"))
    clicker = admin() if who == "admin" else mate()
    trigger, told = f"trig.{next(_triggers)}", dms(own_slack, clicker)
    action: dict[str, Any] = {"action_id": "home_digest", "type": "overflow"}
    if chosen is not BROKEN:
        action["selected_option"] = chosen
    acked(home_bot, click(clicker, action, trigger=trigger))
    value = chosen.get("value") if isinstance(chosen, dict) else None
    if isinstance(value, str):  # said to the clicker alone: unknown, not from Slack, not admin
        wait_for(lambda: dms(own_slack, clicker) > told)
    else:
        time.sleep(0.05)
        assert dms(own_slack, clicker) == told
    assert all(v.get("trigger_id") != trigger for v in sent(own_slack, "views.open")[before:])
    no_traceback(home_bot, at)
    assert stored(home_bot) == forms.baseline


# --- the digest form redrawn ---


def redraw_action(kind: str, value: Any) -> dict[str, Any]:
    if kind == "digest_cron_preset":
        return {"action_id": kind, "type": "static_select", "selected_option": option(value)}
    if kind == "digest_source":
        return {"action_id": kind, "type": "static_select", "selected_option": option(value)}
    return {"action_id": kind, "type": "plain_text_input", "value": value}


def hostile_form_state() -> dict[str, Any]:
    return {
        **good_digest(),
        "name": text_input("name", "<!channel>\ud800"),
        "cron": {"cron|3": {"type": "plain_text_input", "value": "<!here> " * 1_500}},
        "timezone": text_input("timezone", "<@U0ATTACK>\x00"),
        "skills": {"digest_ids|skill|liveperson": {"type": "multi_external_select",
                                                   "selected_options": ids(10_000)}},
        "template": text_input("template", {"x": 1}),
    }  # fmt: skip


REDRAW_VIEWS: list[tuple[str, str, bool]] = [
    # (label, what the view is, whether the form is redrawn)
    ("no view", "missing", False),
    ("view a string", "string", False),
    ("view a list", "list", False),
    ("the home view", "home", False),
    ("another callback_id", "callback", False),
    ("an id that is a number", "id-number", False),
    ("the form as opened", "form", True),
    ("no state", "no-state", True),
    ("state a list", "state-list", True),
    ("state a string", "state-string", True),
    ("hostile values in every block", "hostile-values", True),
    ("private_metadata of 100,000 characters", "huge-metadata", True),
    ("private_metadata with mentions and a surrogate", "metadata-mentions", True),
    ("private_metadata a number", "metadata-number", True),
    ("cron action id with 5,000 digits", "cron-digits", True),
    ("cron action id in Arabic-Indic digits", "cron-unicode", True),
    ("blocks a string", "blocks-string", True),
    ("blocks of junk", "blocks-junk", True),
    ("hash an object", "hash-object", True),
]


def redraw_view(forms: Forms, kind: str) -> tuple[Any, str]:
    view_id = f"VREDRAW{next(_views):04d}"
    form = {**forms.digest, "id": view_id, "hash": "h.1", "state": {"values": good_digest()}}
    if kind == "missing":
        return BROKEN, view_id
    if kind == "string":
        return "digest_edit", view_id
    if kind == "list":
        return [form], view_id
    if kind == "home":
        return {"id": view_id, "type": "home", "callback_id": "home"}, view_id
    if kind == "callback":
        return {**form, "callback_id": "alerts_edit"}, view_id
    if kind == "id-number":
        return {**form, "id": 10**400}, view_id
    cron_block = next(b for b in form["blocks"] if b.get("block_id") == "cron")
    changes: dict[str, Any] = {
        "form": {},
        "no-state": {"state": None},
        "state-list": {"state": ["<!channel>"]},
        "state-string": {"state": "\ud800"},
        "hostile-values": {"state": {"values": hostile_form_state()}},
        "huge-metadata": {"private_metadata": "<!channel>" * 10_000},
        "metadata-mentions": {"private_metadata": "<!here>\ud800<@U0ATTACK>"},
        "metadata-number": {"private_metadata": 1e308},
        "cron-digits": {"blocks": [
            {**cron_block, "element": {**cron_block["element"], "action_id": "cron|" + "9" * 5000}}
        ]},
        "cron-unicode": {"blocks": [
            {**cron_block, "element": {**cron_block["element"], "action_id": "cron|٣٣"}}
        ]},
        "blocks-string": {"blocks": "<!channel>"},
        "blocks-junk": {"blocks": [None, 1, "x", {"block_id": "cron", "element": "x"},
                                   {"block_id": "cron", "element": {"action_id": 5}}]},
        "hash-object": {"hash": {"<!channel>": 1}},
    }  # fmt: skip
    return {**form, **changes[kind]}, view_id


REDRAW_ACTIONS: list[tuple[str, Any]] = [
    ("digest_cron_preset", "0 8 * * *"),
    ("cron", "0 9 * * 1-5"),
    ("cron|3", "<!channel>"),
    ("digest_source", "liveperson"),
]


@pytest.mark.parametrize(("action_id", "value"), REDRAW_ACTIONS, ids=labels(REDRAW_ACTIONS))
@pytest.mark.parametrize(("label", "kind", "redrawn"), REDRAW_VIEWS, ids=labels(REDRAW_VIEWS))
def test_digest_form_redrawn_from_hostile_views(
    home_bot: RunningBot, own_slack: SimulatedSlack, forms: Forms, action_id: str, value: Any,
    label: str, kind: str, redrawn: bool,
) -> None:  # fmt: skip
    at, before = log_at(home_bot), len(sent(own_slack, "views.update"))
    view, view_id = redraw_view(forms, kind)
    body = click(LEAD, redraw_action(action_id, value), None if view is BROKEN else view,
                 omit_view=view is BROKEN)  # fmt: skip
    acked(home_bot, body)
    if redrawn:
        updates = wait_for(lambda: [u for u in sent(own_slack, "views.update")[before:]
                                    if u.get("view_id") == view_id], limit=ACK_SECONDS)  # fmt: skip
        form = updates[-1]["view"]
        assert form["callback_id"] == "digest_edit" and len(form["blocks"]) <= 100
        assert not [t for t in texts(form) if calling(t)]
    else:  # views.update, had there been one, came before the ack
        assert all(u.get("view_id") != view_id for u in sent(own_slack, "views.update")[before:])
    no_traceback(home_bot, at)
    assert stored(home_bot) == forms.baseline


PRESETS: list[tuple[str, Any]] = [
    *ANY_VALUE,
    ("cron that never fires", "0 0 31 2,4,6,9,11 *"),
    ("cron step 0", "*/0 * * * *"),
    ("cron 2,999 characters", ",".join(["0"] * 1_490) + " * * * *"),
    ("no selected_option", BROKEN),
]


@pytest.mark.parametrize(("label", "preset"), PRESETS, ids=labels(PRESETS))
def test_cron_presets_with_hostile_values(
    home_bot: RunningBot, own_slack: SimulatedSlack, forms: Forms, label: str, preset: Any
) -> None:
    at, before = log_at(home_bot), len(sent(own_slack, "views.update"))
    view, view_id = redraw_view(forms, "form")
    action: dict[str, Any] = {"action_id": "digest_cron_preset", "type": "static_select"}
    if preset is not BROKEN:
        action["selected_option"] = option(preset)
    acked(home_bot, click(LEAD, action, view))
    updates = wait_for(lambda: [u for u in sent(own_slack, "views.update")[before:]
                                if u.get("view_id") == view_id], limit=ACK_SECONDS)  # fmt: skip
    assert not [t for t in texts(updates[-1]["view"]) if calling(t)]
    no_traceback(home_bot, at)


def test_a_schedule_that_never_fires_holds_no_other_ack(
    home_bot: RunningBot, own_slack: SimulatedSlack, forms: Forms
) -> None:
    """A cron Slack accepts but no date matches (31 February): its redraw must not hold
    the loop that answers everyone else (ARCHITECTURE.md: an ack never waits)."""
    view, _ = redraw_view(forms, "form")
    action = {"action_id": "digest_cron_preset", "type": "static_select",
              "selected_option": option("0 0 31 2,4,6,9,11 *")}  # fmt: skip
    body = click(LEAD, action, view)
    slow = threading.Thread(target=send, args=(home_bot, body))
    slow.start()
    time.sleep(0.15)  # the redraw is under way
    _, took = send(home_bot, suggestion(LEAD, "digest_ids|x|y", "a"))
    slow.join()
    assert took < 0.5, f"a picker's options waited {took:.2f} s behind the redraw"


# --- the pickers' options ---

OPTION_ACTIONS = [
    "digest_ids|skill|liveperson", "digest_ids|agent|liveperson", "digest_ids|x|y",
    "digest_ids|skill|livechat", "digest_ids|skill|liveperson|<!channel>", "alerts_mention",
]  # fmt: skip
OPTION_VALUES = [*ANY_VALUE, ("missing", BROKEN)]


@pytest.mark.parametrize("action_id", OPTION_ACTIONS)
@pytest.mark.parametrize(("label", "value"), OPTION_VALUES, ids=labels(OPTION_VALUES))
def test_picker_options_for_hostile_text(
    home_bot: RunningBot, forms: Forms, action_id: str, label: str, value: Any
) -> None:
    at = log_at(home_bot)
    body = suggestion(mate(), action_id, value, omit_value=value is BROKEN)
    found = acked(home_bot, body).json()
    options = found["options"]
    assert isinstance(options, list) and len(options) <= 100
    for item in options:
        assert item["text"]["type"] == "plain_text" and 0 < len(item["text"]["text"]) <= 75
        assert isinstance(item["value"], str) and 0 < len(item["value"]) <= 150
        assert not calling(item["text"]["text"]), item
    if action_id.startswith("digest_ids|x") or action_id.endswith("livechat"):
        assert options == []
    no_traceback(home_bot, at)


# --- the forms submitted ---


def check_answer(forms: Forms, callback: str, answer: httpx.Response) -> dict[str, Any] | None:
    """A bad form: errors on that form's own input blocks only, or closed (None)."""
    found = said(answer)
    if found is None:
        return None
    assert found.get("response_action") == "errors", found
    errors = found["errors"]
    assert errors and set(errors) <= forms.inputs(callback), (set(errors), forms.inputs(callback))
    assert all(isinstance(e, str) and 0 < len(e) <= 150 for e in errors.values()), errors
    return errors  # type: ignore[no-any-return]


@pytest.mark.parametrize("who", ["admin", "mate"])
@pytest.mark.parametrize(("label", "blocks", "metadata"), DIGEST_CASES, ids=labels(DIGEST_CASES))
def test_digest_form_submitted_with_hostile_state(
    home_bot: RunningBot, forms: Forms, who: str, label: str, blocks: dict[str, Any],
    metadata: Any,
) -> None:  # fmt: skip
    at, before = log_at(home_bot), stored(home_bot)
    user = admin() if who == "admin" else mate()
    answer = acked(home_bot, submission(user, digest_submission(forms, blocks, metadata)))
    errors = check_answer(forms, "digest_edit", answer)
    assert errors is not None, "a bad digest form closed"
    if who == "mate":
        assert set(errors) == {"name"}
        audited(home_bot, user, at)
    assert stored(home_bot) == before
    no_traceback(home_bot, at)


@pytest.mark.parametrize(("label", "name"), HOSTILE_NAMES, ids=labels(HOSTILE_NAMES))
@pytest.mark.parametrize("callback", ["digest_edit", "alerts_edit", "digest_delete"])
def test_a_teammate_with_a_hostile_name_changes_nothing(
    home_bot: RunningBot, own_slack: SimulatedSlack, forms: Forms, callback: str, label: str,
    name: Any,
) -> None:  # fmt: skip
    """Slack's name for the person rides in the payload: it is logged and audited."""
    at, before, user = log_at(home_bot), stored(home_bot), mate()
    view = {
        "digest_edit": lambda: digest_submission(forms, {}, MADE),
        "alerts_edit": lambda: alerts_submission(forms, {}),
        "digest_delete": lambda: delete_submission(forms, MADE),
    }[callback]()
    answer = acked(home_bot, submission(user, view, name))
    errors = check_answer(forms, callback, answer)
    if callback == "digest_delete":
        assert errors is None
        wait_for(lambda: dms(own_slack, user))  # told they may not
    else:
        assert errors is not None
    audited(home_bot, user, at)
    assert stored(home_bot) == before
    no_traceback(home_bot, at)


@pytest.mark.parametrize("who", ["admin", "mate"])
@pytest.mark.parametrize(("label", "blocks"), ALERT_CASES, ids=labels(ALERT_CASES))
def test_alerts_form_submitted_with_hostile_state(
    home_bot: RunningBot, forms: Forms, who: str, label: str, blocks: dict[str, Any]
) -> None:
    at, before = log_at(home_bot), stored(home_bot)
    user = admin() if who == "admin" else mate()
    answer = acked(home_bot, submission(user, alerts_submission(forms, blocks)))
    errors = check_answer(forms, "alerts_edit", answer)
    if who == "mate":
        assert errors is not None and set(errors) == {"channel"}
        audited(home_bot, user, at)
    elif errors is None:  # closed: saved after the ack, if at all
        time.sleep(0.5)
    assert stored(home_bot) == before, "a bad alerts form was saved"
    no_traceback(home_bot, at)


@pytest.mark.parametrize("who", ["admin", "mate"])
@pytest.mark.parametrize(("label", "metadata"), DELETE_CASES, ids=labels(DELETE_CASES))
def test_delete_form_submitted_with_hostile_metadata(
    home_bot: RunningBot, own_slack: SimulatedSlack, forms: Forms, who: str, label: str,
    metadata: Any,
) -> None:  # fmt: skip
    at, before = log_at(home_bot), stored(home_bot)
    user = admin() if who == "admin" else mate()
    answer = acked(home_bot, submission(user, delete_submission(forms, metadata)))
    assert check_answer(forms, "digest_delete", answer) is None  # no input to show errors on
    wait_for(lambda: dms(own_slack, user))  # why nothing was deleted, to them alone
    if who == "mate":
        audited(home_bot, user, at)
    assert stored(home_bot) == before
    no_traceback(home_bot, at)


def test_a_teammate_cannot_delete_the_digest_made_in_slack(
    home_bot: RunningBot, own_slack: SimulatedSlack, forms: Forms
) -> None:
    at, user = log_at(home_bot), mate()
    answer = acked(home_bot, submission(user, delete_submission(forms, MADE)))
    assert said(answer) is None
    wait_for(lambda: dms(own_slack, user))
    audited(home_bot, user, at)
    assert stored(home_bot)[0] == forms.baseline[0]
    no_traceback(home_bot, at)


MALFORMED_USERS: list[tuple[str, Any]] = [("a number", 12345), ("true", True), ("1e308", 1e308)]


@pytest.mark.parametrize("kind", ["view_submission", "block_suggestion", "block_actions"])
@pytest.mark.parametrize(("label", "user"), MALFORMED_USERS, ids=labels(MALFORMED_USERS))
def test_a_payload_whose_user_is_no_object_is_never_500(
    home_bot: RunningBot, forms: Forms, kind: str, label: str, user: Any
) -> None:
    at, before = log_at(home_bot), stored(home_bot)
    body = {
        "view_submission": lambda: submission(LEAD, delete_submission(forms, MADE), who=user),
        "block_suggestion": lambda: suggestion(LEAD, "alerts_mention", "", who=user),
        "block_actions": lambda: click(
            LEAD, {"action_id": "home_digest", "selected_option": option(f"delete|{MADE}")},
            who=user,
        ),
    }[kind]()  # fmt: skip
    acked(home_bot, body, refusable=True)
    assert stored(home_bot) == before
    no_traceback(home_bot, at)


# --- bodies over the limit ---


def test_bodies_over_the_limit_are_refused(home_bot: RunningBot, forms: Forms) -> None:
    """Over 512 KiB: 413 like any other body, before the signature or the payload is read."""
    at, before = log_at(home_bot), stored(home_bot)
    over = "x" * (MAX_SLACK_BODY + 1024)
    bodies = [
        (home_opened(over), True),
        (submission(LEAD, delete_submission(forms, over)), False),
        (submission(LEAD, form_view(forms.digest, {"skills": {"digest_ids|skill|liveperson": {
            "type": "multi_external_select", "selected_options": ids(40_000)}}})), False),
        (suggestion(LEAD, "alerts_mention", over), False),
        (click(LEAD, {"action_id": "home_digest", "selected_option": option(over)}), False),
    ]  # fmt: skip
    for body, json_body in bodies:
        assert len(body.encode()) > MAX_SLACK_BODY
        answer, took = send(home_bot, body, json_body)
        assert answer.status_code == 413 and took < ACK_SECONDS
    answer, _ = send(home_bot, "x" * (MAX_SLACK_BODY + 1))  # unsigned as well: size first
    assert answer.status_code == 413
    # just under the limit: read, answered, nothing deleted
    under = submission(LEAD, delete_submission(forms, "y" * (MAX_SLACK_BODY - 4096)))
    assert len(under.encode()) <= MAX_SLACK_BODY
    assert said(acked(home_bot, under)) is None
    assert stored(home_bot) == before
    log = log_since(home_bot, at)
    assert log.count("refused a request to /slack/events: a body over 512 KiB") >= len(bodies)
    no_traceback(home_bot, at)


def test_a_json_number_past_python_s_digit_limit_is_400(home_bot: RunningBot) -> None:
    """5,000 digits as a JSON number: no str() of it anywhere, a body Slack would not send."""
    at = log_at(home_bot)
    body = home_opened(LEAD).replace(f'"user": "{LEAD}"', '"user": ' + "9" * 5_000)
    assert "9" * 5_000 in body
    answer, took = send(home_bot, body, json_body=True)
    assert answer.status_code == 400 and took < ACK_SECONDS
    no_traceback(home_bot, at)


# --- after all of it ---


def test_after_every_table_the_bot_is_alive_and_nothing_called_anyone_in(
    home_bot: RunningBot, own_slack: SimulatedSlack, forms: Forms
) -> None:
    """Runs last: the admin's page (with the history of refusals) and the teammate's,
    everything posted and published, the store and the log."""
    for user in (LEAD, mate()):
        published = len(sent(own_slack, "views.publish"))
        acked(home_bot, home_opened(user), json_body=True)
        wait_for(
            lambda user=user, published=published: [  # type: ignore[misc]
                v for v in sent(own_slack, "views.publish")[published:] if v.get("user_id") == user
            ]
        )
    settled, count = time.monotonic(), len(sent(own_slack, "chat.postMessage"))
    while time.monotonic() - settled < 1.5:  # the notices still paced out
        time.sleep(0.1)
        if len(sent(own_slack, "chat.postMessage")) != count:
            settled, count = time.monotonic(), len(sent(own_slack, "chat.postMessage"))
    pages = sent(own_slack, "views.publish")
    page = next(v["view"] for v in reversed(pages) if v.get("user_id") == LEAD)
    assert MADE in json.dumps(page) and "csat-daily" in json.dumps(page)
    nothing_calls_anyone(own_slack)
    assert stored(home_bot) == forms.baseline
    assert home_bot.proc.poll() is None
    log = home_bot.log.read_text(errors="replace")
    assert "Traceback" not in log, log[log.find("Traceback") - 500 :][:4000]
